"""Dates at the ends of the calendar (year 9999, year 1, a duration of millions of weeks) are
refused in words before a job starts — an all-day end on 9999-12-31 or a zone shift used to
overflow into a 500 — and a refused batch is named in the reader's language."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from connectivity.ewsjobs import Criteria, parse_ics, task_from_json
from portal.ewsjobs.models import EwsJob
from tests.ewsjobs.pages import BOXES, grant  # noqa: F401

pytestmark = pytest.mark.django_db


def _ics(*lines: str) -> bytes:
    body = "\r\n".join(("BEGIN:VCALENDAR", "BEGIN:VEVENT", "SUMMARY:Drill", *lines,
                        "END:VEVENT", "END:VCALENDAR"))  # fmt: skip
    return (body + "\r\n").encode()


@pytest.mark.parametrize("lines, words", [
    (("DTSTART;VALUE=DATE:99991231",), "the date must be between the years 1601 and 4500"),
    (("DTSTART:00010101T000000Z", "DTEND:00010101T010000Z"), "between the years 1601 and 4500"),
    (("DTSTART:20261201T100000Z", "DURATION:P99999999W"), "the duration is too long"),
    (("DTSTART:45001231T230000Z", "DURATION:P2D"), "the end must be between the years"),
])  # fmt: skip
def test_ics_dates_out_of_range_are_named(lines, words):
    with pytest.raises(ValueError) as refused:
        parse_ics(_ics(*lines))
    assert words in str(refused.value)


def test_task_due_and_search_days_out_of_range_are_refused():
    with pytest.raises(ValueError, match="the due date must be between the years 1601 and 4500"):
        task_from_json({"subject": "Renew", "due": "9999-12-31"})
    with pytest.raises(ValueError, match="the last day must be between the years"):
        Criteria.from_json({"received_to": "9999-12-31"})
    assert Criteria.from_json({"received_to": "4500-12-31"}).received_to.year == 4500


def _form(grant, **over):  # noqa: F811
    data = {"tenant": grant.application.tenant_id, "grant": grant.pk, "targets_from": "list",
            "targets_text": BOXES[0]}  # fmt: skip
    data.update(over)
    return data


@pytest.mark.parametrize("kind, over, words", [
    ("publish", {"source": "one", "subject": "Drill", "start": "9999-12-31T10:00",
                 "end": "9999-12-31T23:59", "all_day": "on", "tz": "UTC"},
     "the start must be between the years 1601 and 4500"),
    ("publish", {"source": "one", "subject": "Drill", "start": "9999-12-31T22:00",
                 "end": "9999-12-31T23:59", "tz": "Pacific/Pago_Pago"}, "between the years"),
    ("publish", {"source": "file", "events_file": SimpleUploadedFile(
        "e.csv", b"subject,start,end,all_day\nDrill,9999-12-31,9999-12-31,yes\n")},
     "line 2: the start must be between the years"),
    ("tasks", {"source": "one", "subject": "Renew", "due": "9999-12-31", "tz": "UTC"},
     "the due date must be between the years"),
    ("search", {"received_from": "0001-01-01", "received_to": "9999-12-31"},
     "the first day must be between the years"),
])  # fmt: skip
def test_far_dates_in_the_forms_are_refused_in_words(operator_client, grant, kind, over, words):  # noqa: F811
    response = operator_client.post(f"/ews-jobs/new/{kind}/", _form(grant, **over))
    assert response.status_code == 200
    assert words in response.content.decode()
    assert not EwsJob.objects.exists()


def test_a_refused_batch_is_named_in_russian(operator_client, grant):  # noqa: F811
    broken = SimpleUploadedFile("t.csv", b"subject,due\nRenew,someday\n")
    response = operator_client.post("/ews-jobs/new/tasks/", _form(grant, source="file",
                                    tasks_file=broken), HTTP_ACCEPT_LANGUAGE="ru")  # fmt: skip
    body = response.content.decode()
    assert "Неверные данные (задачи)" in body and "(tasks)" not in body
    broken = SimpleUploadedFile("e.ics", _ics("DTSTART;VALUE=DATE:99991231"))
    response = operator_client.post("/ews-jobs/new/publish/", _form(
        grant, source="file", events_file=broken, tz="UTC"), HTTP_ACCEPT_LANGUAGE="ru")  # fmt: skip
    body = response.content.decode()
    assert "Неверные данные (события календаря)" in body
    assert "дата: год должен быть от 1601 до 4500" in body and "(events)" not in body
