"""A batch's size agrees with its noun ("1 calendar event", "5 задач") and a task's importance
is shown in the reader's language, not as the stored English value."""

import pytest

from portal.jobs.models import Job
from tests.ewsjobs.pages import grant, make_job  # noqa: F401

pytestmark = pytest.mark.django_db


def _event(i):
    return {"subject": f"Drill {i}", "start": "2026-12-01T09:00:00+00:00", "tz": "UTC",
            "end": "2026-12-01T10:00:00+00:00", "location": "", "body": "", "all_day": False,
            "reminder_minutes": None, "categories": []}  # fmt: skip


def _task(importance):
    return {"subject": "Renew", "due": None, "importance": importance, "body": "",
            "reminder": None, "tz": ""}  # fmt: skip


@pytest.mark.parametrize("kind, n, english, russian", [
    ("publish", 1, "1 calendar event<", "1 событие календаря<"),
    ("publish", 3, "3 calendar events<", "3 события календаря<"),
    ("tasks", 1, "1 task<", "1 задача<"),
    ("tasks", 5, "5 tasks<", "5 задач<"),
])  # fmt: skip
def test_items_per_mailbox_agree_with_the_count(viewer_client, grant, kind, n, english, russian):  # noqa: F811
    items = [_event(i) for i in range(n)] if kind == "publish" else [_task("High")] * n
    params = {"events": items} if kind == "publish" else {"tasks": items}
    ewsjob = make_job(grant, kind=kind, status=Job.Status.SUCCEEDED, params=params)
    assert english in viewer_client.get(f"/ews-jobs/{ewsjob.pk}/").content.decode()
    body = viewer_client.get(f"/ews-jobs/{ewsjob.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content
    assert russian in body.decode()


def test_importance_is_shown_in_the_reader_language(viewer_client, grant):  # noqa: F811
    params = {"tasks": [_task("Normal"), _task("High")]}
    ewsjob = make_job(grant, kind="tasks", status=Job.Status.SUCCEEDED, params=params)
    body = viewer_client.get(f"/ews-jobs/{ewsjob.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Обычная" in body and "Высокая" in body and ">Normal<" not in body


@pytest.mark.parametrize("kind", ["search", "publish", "tasks", "rules"])
def test_the_new_job_forms_have_no_english_left_in_russian(operator_client, grant, kind):  # noqa: F811
    body = operator_client.get(f"/ews-jobs/new/{kind}/", HTTP_ACCEPT_LANGUAGE="ru").content
    assert "Select an option" not in body.decode() and "---------" in body.decode()


def test_the_rate_uses_the_reader_decimal_separator(viewer_client, grant):  # noqa: F811
    # Finished: 30 events in the 20 s between its start and its end (as make_job writes them).
    ewsjob = make_job(grant, kind="publish", status=Job.Status.SUCCEEDED, done=30, total=30,
                      params={"events": [_event(0)] * 10})  # fmt: skip
    english = viewer_client.get(f"/ews-jobs/{ewsjob.pk}/").content.decode()
    russian = viewer_client.get(f"/ews-jobs/{ewsjob.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content
    assert "1.5 calendar events per second" in english
    assert "1,5 событий календаря в секунду" in russian.decode()
