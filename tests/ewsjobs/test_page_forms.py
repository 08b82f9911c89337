"""Starting EWS jobs from the pages: each kind's form makes the parameters the engine checks;
refusals (grant, scope, a real rule run without its dry run) and hostile input are answered in
words with nothing created; a rule's real run starts only from its finished dry run."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.ewsjobs.models import EwsJob
from portal.grants.models import Grant
from portal.jobs.models import Job
from tests.ewsjobs.pages import BOXES, add_found, grant, make_job  # noqa: F401

pytestmark = pytest.mark.django_db


def _base(grant, **over):  # noqa: F811
    data = {"tenant": grant.application.tenant_id, "grant": grant.pk, "targets_from": "list",
            "targets_text": "\n".join(BOXES[:2])}  # fmt: skip
    data.update(over)
    return data


def _event(grant, **over):  # noqa: F811
    data = _base(grant, source="one", subject="Fire drill", start="2026-12-01T09:30",
                 end="2026-12-01T10:00", tz="Europe/Berlin", location="Yard", body="Walk out.",
                 reminder_minutes="15", categories="Safety; Facilities")  # fmt: skip
    data.update(over)
    return data


def _nothing_started():
    assert not EwsJob.objects.exists() and not Job.objects.exists()
    assert not AuditEvent.objects.filter(action="job.start").exists()


@pytest.fixture
def post(operator_client, django_capture_on_commit_callbacks):
    """POST as an Operator; the job's message is sent when the transaction commits."""

    def send(url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return operator_client.post(url, data)

    return send


def test_new_job_pages_offer_only_active_grants_of_each_tenant(operator_client, grant):  # noqa: F811
    expired = Grant.objects.create(
        application=grant.application, model="rbac", scope="list", mailboxes=BOXES,
        justification="old", status="expired", expires_at=timezone.now() - dt.timedelta(days=1),
    )  # fmt: skip
    for kind in ("search", "publish", "tasks", "rules"):
        body = operator_client.get(f"/ews-jobs/new/{kind}/").content.decode()
        assert f'value="{grant.pk}" data-show-if="tenant={grant.application.tenant_id}"' in body
        assert f'value="{expired.pk}"' not in body
        assert 'enctype="multipart/form-data"' in body and "data-dynamic-form" in body


def test_publish_one_event_starts_a_job(post, grant, operator_user):  # noqa: F811
    response = post("/ews-jobs/new/publish/", _event(grant))
    ewsjob = EwsJob.objects.get()
    assert response.status_code == 302 and response.url == f"/ews-jobs/{ewsjob.pk}/"
    assert ewsjob.kind == "publish" and not ewsjob.dry_run and ewsjob.grant == grant
    assert sorted(ewsjob.targets.values_list("mailbox", flat=True)) == BOXES[:2]
    [event] = ewsjob.params["events"]
    assert event["subject"] == "Fire drill" and event["start"] == "2026-12-01T09:30:00+01:00"
    assert event["tz"] == "Europe/Berlin" and event["categories"] == ["Safety", "Facilities"]
    assert event["reminder_minutes"] == 15 and event["location"] == "Yard"
    assert ewsjob.job.created_by == operator_user and ewsjob.job.status == Job.Status.QUEUED
    assert AuditEvent.objects.filter(action="job.start", target_id=str(ewsjob.pk)).count() == 1
    assert not AuditEvent.objects.filter(action__startswith="ewsjob.").exists()


def test_publish_from_an_ics_file_and_targets_from_a_csv(post, grant):  # noqa: F811
    ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1@x\r\nSUMMARY:Board\r\n"
           "DTSTART:20261201T090000Z\r\nDTEND:20261201T100000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\n"
           "UID:2@x\r\nSUMMARY:Review\r\nDTSTART;VALUE=DATE:20261202\r\n"
           "DTEND;VALUE=DATE:20261203\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")  # fmt: skip
    targets = SimpleUploadedFile("boxes.csv", f"name,mailbox\nAnna,{BOXES[0]}\nChen,{BOXES[2]}\n"
                                 .encode())  # fmt: skip
    data = _base(grant, targets_from="file", targets_file=targets, source="file", tz="UTC",
                 events_file=SimpleUploadedFile("board.ics", ics.encode()))  # fmt: skip
    assert post("/ews-jobs/new/publish/", data).status_code == 302
    ewsjob = EwsJob.objects.get()
    assert [e["subject"] for e in ewsjob.params["events"]] == ["Board", "Review"]
    assert ewsjob.params["events"][1]["all_day"] is True
    assert sorted(ewsjob.targets.values_list("mailbox", flat=True)) == [BOXES[0], BOXES[2]]


def test_tasks_from_csv_and_every_mailbox_in_scope(post, grant):  # noqa: F811
    tasks = "subject,due,importance\nFile expenses,2026-12-31,High\nBook leave,,Low\n"
    data = _base(grant, targets_from="scope", targets_text="", source="file", tz="UTC",
                 tasks_file=SimpleUploadedFile("tasks.csv", tasks.encode()))  # fmt: skip
    assert post("/ews-jobs/new/tasks/", data).status_code == 302
    ewsjob = EwsJob.objects.get()
    assert [(t["subject"], t["due"], t["importance"]) for t in ewsjob.params["tasks"]] == [
        ("File expenses", "2026-12-31", "High"), ("Book leave", None, "Low")]  # fmt: skip
    assert sorted(ewsjob.targets.values_list("mailbox", flat=True)) == BOXES


def test_search_criteria_become_the_engine_criteria(post, grant):  # noqa: F811
    data = _base(grant, subject="Invoice", sender="billing@contoso.example",
                 received_from="2026-01-01", received_to="2026-03-31", has_attachments="yes",
                 folder="inbox/Finance")  # fmt: skip
    assert post("/ews-jobs/new/search/", data).status_code == 302
    criteria = EwsJob.objects.get().params["criteria"]
    assert criteria["subject"] == "Invoice" and criteria["sender"] == "billing@contoso.example"
    assert (criteria["received_from"], criteria["received_to"]) == ("2026-01-01", "2026-03-31")
    assert criteria["has_attachments"] is True and criteria["folder"] == "inbox/Finance"


def test_a_rule_from_the_form_is_always_a_dry_run(post, grant):  # noqa: F811
    data = _base(grant, subject="Newsletter", action="forward",
                 forward_to="archive@contoso.example")  # fmt: skip
    response = post("/ews-jobs/new/rules/", data)
    ewsjob = EwsJob.objects.get()
    assert response.status_code == 302 and ewsjob.dry_run
    assert ewsjob.params["action"]["kind"] == "forward"
    assert ewsjob.params["action"]["forward_to"] == "archive@contoso.example"


@pytest.mark.parametrize("change, words", [
    ({"status": "expired"}, "is not active (it is expired)"),
    ({"status": "revoked"}, "is not active (it is revoked)"),
    ({"expires_at": timezone.now() - dt.timedelta(minutes=1)}, "is not active"),
])  # fmt: skip
def test_a_grant_that_is_not_active_is_refused(post, grant, change, words):  # noqa: F811
    Grant.objects.filter(pk=grant.pk).update(**change)
    response = post("/ews-jobs/new/publish/", _event(grant))
    assert response.status_code == 200 and words in response.content.decode()
    _nothing_started()
    event = AuditEvent.objects.get(action="ewsjob.start")
    assert event.result == "denied" and words in event.after["reason"]


def test_a_target_outside_the_scope_is_refused(post, grant):  # noqa: F811
    data = _event(grant, targets_text=f"{BOXES[0]}\nmallory@contoso.example")
    body = post("/ews-jobs/new/publish/", data).content.decode()
    assert "outside grant" in body and "mallory@contoso.example" in body
    assert "Nothing was started" in body
    _nothing_started()
    assert AuditEvent.objects.get(action="ewsjob.start").result == "denied"


def test_the_grant_must_belong_to_the_tenant(post, grant):  # noqa: F811
    from portal.tenants.models import Tenant

    other = Tenant.objects.create(name="Fabrikam", kind="online", accepted_domains=["f.example"])
    body = post("/ews-jobs/new/search/", _base(grant, tenant=other.pk)).content.decode()
    assert "Choose a grant of this tenant" in body
    _nothing_started()


def test_a_real_rule_run_needs_a_finished_dry_run(post, operator_client, grant):  # noqa: F811
    running = make_job(grant, kind="rules", dry_run=True, status=Job.Status.RUNNING)
    page = operator_client.get(f"/ews-jobs/{running.pk}/run/").content.decode()
    assert "has not finished" in page and "<button" not in page.split("</header>")[1]
    response = post(f"/ews-jobs/{running.pk}/run/", {})
    assert response.status_code == 302 and EwsJob.objects.count() == 1
    assert AuditEvent.objects.get(action="ewsjob.run").result == "denied"
    search = make_job(grant, kind="search", status=Job.Status.SUCCEEDED)
    assert "Only a dry run" in operator_client.get(f"/ews-jobs/{search.pk}/run/").content.decode()
    post(f"/ews-jobs/{search.pk}/run/", {})
    assert EwsJob.objects.count() == 2 and not EwsJob.objects.filter(dry_run_of__isnull=False)


def test_run_for_real_says_what_changes_then_starts(post, operator_client, grant):  # noqa: F811
    dry = make_job(grant, kind="rules", dry_run=True, status=Job.Status.SUCCEEDED, done=3)
    add_found(dry, 4)
    detail = operator_client.get(f"/ews-jobs/{dry.pk}/").content.decode()
    assert f'href="/ews-jobs/{dry.pk}/run/"' in detail
    page = operator_client.get(f"/ews-jobs/{dry.pk}/run/").content.decode()
    assert "Add the category “Paid”: 12 messages" in page and "Change 12 messages" in page
    assert f"<code>{BOXES[0]}</code></td><td>4</td>" in page
    response = post(f"/ews-jobs/{dry.pk}/run/", {})
    real = EwsJob.objects.get(dry_run_of=dry)
    assert response.status_code == 302 and response.url == f"/ews-jobs/{real.pk}/"
    assert not real.dry_run and real.params == dry.params
    assert sorted(real.targets.values_list("mailbox", flat=True)) == BOXES
    event = AuditEvent.objects.get(action="ewsjob.run")
    assert event.result == "success" and event.after == {"real_run": str(real.pk), "messages": 12}
    again = operator_client.get(f"/ews-jobs/{dry.pk}/run/").content.decode()
    assert "already been run for real" in again
    detail = operator_client.get(f"/ews-jobs/{dry.pk}/").content.decode()
    assert f'href="/ews-jobs/{dry.pk}/run/"' not in detail


def test_an_older_dry_run_points_to_the_newest(operator_client, grant):  # noqa: F811
    old = make_job(grant, kind="rules", dry_run=True, status=Job.Status.SUCCEEDED)
    new = make_job(grant, kind="rules", dry_run=True, status=Job.Status.SUCCEEDED)
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    page = operator_client.get(f"/ews-jobs/{old.pk}/run/").content.decode()
    assert "A newer dry run" in page and f"/ews-jobs/{new.pk}/" in page


@pytest.mark.parametrize("kind, over, field_words", [
    ("publish", {"subject": "Drill\r\nBcc: evil@x.example"}, "line breaks"),
    ("publish", {"location": "Yard\x00"}, "control characters"),
    ("publish", {"start": "2026-13-45T25:99"}, "Enter a date and time"),
    ("publish", {"start": "yesterday"}, "Enter a date and time"),
    ("publish", {"end": "2026-12-01T08:00"}, "ends before it starts"),
    ("publish", {"tz": "Mars/Olympus"}, "unknown time zone"),
    ("publish", {"reminder_minutes": "99999999"}, "40320"),
    ("publish", {"targets_text": "anna@contoso.example\nnot an address"}, "not mailbox addresses"),
    ("publish", {"targets_text": ""}, "at least one mailbox"),
    ("search", {"received_from": "2026-02-30"}, "Enter a valid date"),
    ("search", {"received_from": "2026-03-01", "received_to": "2026-01-01"}, "before its start"),
    ("search", {"sender": "billing"}, "full e-mail address"),
    ("search", {"folder": "inbox/\x1b[31m"}, "control characters"),
    ("rules", {"action": "forward", "forward_to": ""}, "address to forward"),
    ("rules", {"action": "forward", "forward_to": "a@b.example\r\nRCPT TO:<x@y>"}, "line breaks"),
    ("rules", {"action": "explode"}, "Select a valid choice"),
    ("tasks", {"source": "one", "subject": "", "tz": "UTC"}, "This field is required"),
    ("tasks", {"source": "one", "subject": "x", "due": "31/12/2026", "tz": "UTC"},
     "Enter a valid date"),
])  # fmt: skip
def test_hostile_or_wrong_input_is_refused_in_words(post, grant, kind, over, field_words):  # noqa: F811
    data = _event(grant, **over) if kind == "publish" else _base(grant, **over)
    response = post(f"/ews-jobs/new/{kind}/", data)
    assert response.status_code == 200
    assert field_words in response.content.decode()
    _nothing_started()


def test_files_that_are_not_utf8_or_too_large_are_refused(post, grant):  # noqa: F811
    latin1 = SimpleUploadedFile("boxes.csv", "mailbox\nj\xf6rg@contoso.example\n".encode("latin-1"))
    body = post("/ews-jobs/new/search/", _base(grant, targets_from="file",
                                                targets_file=latin1)).content.decode()  # fmt: skip
    assert "not UTF-8 text" in body
    big = SimpleUploadedFile("boxes.csv", b"mailbox\n" + b"x" * (1024 * 1024 + 10))
    body = post("/ews-jobs/new/search/", _base(grant, targets_from="file",
                                                targets_file=big)).content.decode()  # fmt: skip
    assert "larger than 1 MB" in body
    broken = SimpleUploadedFile("e.csv", b"subject,start,end\nDrill,soon,later\n")
    body = post("/ews-jobs/new/publish/", _event(grant, source="file",
                                                  events_file=broken)).content.decode()  # fmt: skip
    assert "The calendar events are not valid" in body and "line 2" in body
    assert post("/ews-jobs/new/publish/", _event(grant, source="file")).status_code == 200
    _nothing_started()


def test_the_engine_reason_is_shown_in_the_reader_language(operator_client, grant):  # noqa: F811
    broken = SimpleUploadedFile("e.csv", b"subject,start,end\nDrill,soon,later\n")
    response = operator_client.post(
        "/ews-jobs/new/publish/", _event(grant, source="file", events_file=broken),
        HTTP_ACCEPT_LANGUAGE="ru",
    )  # fmt: skip
    body = response.content.decode()
    assert "1 строка с ошибкой, ничего не взято: строка 2:" in body
    assert "line 2" not in body
    _nothing_started()


def test_an_upload_over_the_cap_is_not_read(operator_client, grant):  # noqa: F811
    huge = SimpleUploadedFile("e.csv", b"subject,start,end\n" + b"x" * (7 * 1024 * 1024))
    response = operator_client.post("/ews-jobs/new/publish/", _event(grant, source="file",
                                                                     events_file=huge))  # fmt: skip
    assert response.status_code == 413
    assert "larger than 6 MB" in response.content.decode()
    _nothing_started()


def test_a_huge_typed_list_is_answered_in_words(operator_client, grant):  # noqa: F811
    text = "\n".join(f"user{i}@contoso.example" for i in range(150_000))  # about 3.5 MB
    response = operator_client.post("/ews-jobs/new/search/", _base(grant, targets_text=text))
    assert response.status_code == 400 and "could not be read" in response.content.decode()
    _nothing_started()


def test_a_damaged_or_undecodable_body_is_answered_in_words(operator_client, grant):  # noqa: F811
    damaged = operator_client.post(
        "/ews-jobs/new/search/", data=b"a=1", content_type="multipart/form-data"
    )  # no boundary
    assert damaged.status_code == 400 and "could not be read" in damaged.content.decode()
    latin = operator_client.post(
        "/ews-jobs/new/search/", data=b"targets_from=list&targets_text=\xff\xfe&subject=\xc3\x28",
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert latin.status_code == 200 and "not mailbox addresses" in latin.content.decode()
    _nothing_started()


def test_the_form_needs_its_csrf_token(grant, operator_user):  # noqa: F811
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(operator_user)
    assert client.post("/ews-jobs/new/publish/", _event(grant)).status_code == 403
    _nothing_started()
