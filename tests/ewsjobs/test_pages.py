"""EWS job pages by role: who reads and who acts, wrong methods, unknown ids, the live progress
partial, the results as CSV (spreadsheet-safe), cancel and retry with one audit event each."""

import csv
import datetime as dt
import io
import uuid

import pytest
from django.utils import translation

from portal.audit.models import AuditEvent
from portal.ewsjobs import present
from portal.ewsjobs.models import EwsJob, Target
from portal.jobs.models import Job
from tests.ewsjobs.pages import BOXES, add_found, grant, make_job  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def done_search(grant, operator_user):  # noqa: F811
    ewsjob = make_job(grant, status=Job.Status.SUCCEEDED, user=operator_user, done=3,
                      message="Messages found: 6 (mailboxes: 3).")  # fmt: skip
    add_found(ewsjob, 2)
    return ewsjob


def _pages(ewsjob):
    return {"list": "/ews-jobs/", "choose": "/ews-jobs/new/", "detail": f"/ews-jobs/{ewsjob.pk}/",
            "csv": f"/ews-jobs/{ewsjob.pk}/results.csv", "run": f"/ews-jobs/{ewsjob.pk}/run/",
            **{f"new-{k}": f"/ews-jobs/new/{k}/" for k in ("search", "publish", "tasks",
                                                           "rules")}}  # fmt: skip


OPERATOR_ONLY = {"choose", "run", "new-search", "new-publish", "new-tasks", "new-rules"}


@pytest.mark.parametrize("who", ["admin", "operator", "viewer", "anonymous"])
def test_each_page_by_role(request, who, done_search):
    client = request.getfixturevalue("anon_client" if who == "anonymous" else f"{who}_client")
    for name, url in _pages(done_search).items():
        response = client.get(url)
        if who == "anonymous":
            assert response.status_code == 302, url
            assert response["Location"].startswith("/accounts/login/"), url
        elif who == "viewer" and name in OPERATOR_ONLY:
            assert response.status_code == 403, url
        else:
            assert response.status_code == 200, url


def test_viewer_sees_no_buttons_and_operator_does(viewer_client, operator_client, grant):  # noqa: F811
    failed = make_job(grant, status=Job.Status.PROBLEMS, done=2, failed=1)
    failed.targets.filter(mailbox=BOXES[0]).update(status=Target.Status.FAILED, error="No such "
                                                   "mailbox")  # fmt: skip
    for url in ("/ews-jobs/", f"/ews-jobs/{failed.pk}/"):
        body = viewer_client.get(url).content.decode()
        assert "/ews-jobs/new/" not in body and "/retry/" not in body, url
    listing = operator_client.get("/ews-jobs/").content.decode()
    assert 'href="/ews-jobs/new/"' in listing
    page = operator_client.get(f"/ews-jobs/{failed.pk}/").content.decode()
    assert f"/ews-jobs/{failed.pk}/retry/" in page and "No such mailbox" in page


def test_empty_list_says_what_to_do(operator_client, viewer_client, db):
    body = operator_client.get("/ews-jobs/").content.decode()
    assert "No EWS jobs yet" in body and "Request a grant first" in body


def test_empty_list_with_a_grant_points_to_new_job(operator_client, viewer_client, grant):  # noqa: F811
    assert "Start one with New job" in operator_client.get("/ews-jobs/").content.decode()
    assert "An Operator starts EWS jobs" in viewer_client.get("/ews-jobs/").content.decode()


def test_list_shows_kind_tenant_grant_status_counts_and_who(operator_client, grant,  # noqa: F811
                                                            operator_user):  # fmt: skip
    make_job(grant, kind="publish", status=Job.Status.RUNNING, user=operator_user, done=40,
             failed=2, total=90, params={"events": []})  # fmt: skip
    body = operator_client.get("/ews-jobs/").content.decode()
    assert "Contoso" in body and f"#{grant.pk} Publisher" in body
    assert "status-running" in body and "40 / 2 / 90" in body and "oscar-operator" in body


@pytest.mark.parametrize("method, path", [
    ("post", "/ews-jobs/"), ("post", "/ews-jobs/{pk}/"), ("post", "/ews-jobs/{pk}/results.csv"),
    ("get", "/ews-jobs/{pk}/cancel/"), ("get", "/ews-jobs/{pk}/retry/"),
    ("put", "/ews-jobs/new/search/"), ("delete", "/ews-jobs/{pk}/run/"),
    ("post", "/ews-jobs/new/"),
])  # fmt: skip
def test_wrong_method_is_405(admin_client, done_search, method, path):
    response = getattr(admin_client, method)(path.format(pk=done_search.pk))
    assert response.status_code == 405


@pytest.mark.parametrize("method, path", [
    ("get", "/ews-jobs/{pk}/"), ("get", "/ews-jobs/{pk}/results.csv"),
    ("post", "/ews-jobs/{pk}/cancel/"), ("post", "/ews-jobs/{pk}/retry/"),
    ("get", "/ews-jobs/{pk}/run/"), ("post", "/ews-jobs/{pk}/run/"),
    ("get", "/ews-jobs/new/mailflow/"),
])  # fmt: skip
def test_unknown_job_or_kind_is_404(operator_client, db, method, path):
    response = getattr(operator_client, method)(path.format(pk=uuid.uuid4()))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action__startswith="ewsjob.").exists()


def test_progress_partial_polls_while_running_and_stops_when_done(viewer_client, grant):  # noqa: F811
    event = {"subject": "Townhall", "start": "2026-12-01T09:00:00+00:00",
             "end": "2026-12-01T10:00:00+00:00"}  # fmt: skip
    ewsjob = make_job(grant, kind="publish", status=Job.Status.RUNNING, done=30, failed=0,
                      total=120, params={"events": [event] * 40})  # fmt: skip
    url = f"/ews-jobs/{ewsjob.pk}/"
    full = viewer_client.get(url).content.decode()
    assert "<nav" in full and "Townhall" in full and "2026-12-01 09:00" in full
    live = viewer_client.get(url, HTTP_HX_REQUEST="true")
    body = live.content.decode()
    assert "<nav" not in body and 'id="ewsjob-live"' in body
    assert 'hx-trigger="every 2s"' in body and 'value="25"' in body
    assert "30 of 120 calendar events" in body
    assert "calendar events per second" in body and "Time left" in body
    assert "HX-Request" in live["Vary"]

    Job.objects.filter(pk=ewsjob.pk).update(
        status=Job.Status.SUCCEEDED, progress=100,
        message="Items in place: 120 of 120 (mailboxes: 3).",
    )  # fmt: skip
    EwsJob.objects.filter(pk=ewsjob.pk).update(done=120)
    body = viewer_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in body and 'value="100"' in body
    assert "Items in place: 120 of 120 (mailboxes: 3)." in body
    russian = viewer_client.get(url, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="ru")
    assert "Items in place: 120 of 120" not in russian.content.decode()


def test_rate_and_time_left_from_the_counts(grant):  # noqa: F811
    ewsjob = make_job(grant, kind="publish", done=30, failed=0, total=120, params={"events": []})
    now = ewsjob.job.started_at + dt.timedelta(seconds=20)
    with translation.override("en"):
        shown = present.progress(EwsJob.objects.select_related("job").get(pk=ewsjob.pk), now)
    assert shown["rate"] == "1.5" and shown["eta"] == "1 min 0 s" and shown["percent"] == 25
    assert (shown["done"], shown["failed"], shown["total"]) == (30, 0, 120)
    assert shown["unit"] == "calendar events"


def test_parameters_are_shown_in_words(viewer_client, grant):  # noqa: F811
    rule = make_job(
        grant,
        kind="rules",
        dry_run=True,
        status=Job.Status.SUCCEEDED,
        params={
            "criteria": {
                "subject": "Invoice",
                "sender": "billing@contoso.example",
                "folder": "inbox",
                "received_from": "2026-01-01",
                "received_to": "2026-03-31",
                "has_attachments": True,
                "body": "",
                "tz": "UTC",
            },
            "action": {"kind": "move", "folder": "inbox/Paid", "category": "", "forward_to": ""},
        },
    )
    body = viewer_client.get(f"/ews-jobs/{rule.pk}/").content.decode()
    for words in ("Subject contains", "Invoice", "billing@contoso.example",
                  "2026-01-01 – 2026-03-31", "only messages with attachments",
                  "Move to the folder “inbox/Paid”", "dry run: nothing is changed"):  # fmt: skip
        assert words in body, words
    assert "{&#x27;" not in body and "{'" not in body  # never the raw dict


def test_results_are_paginated_and_csv_is_spreadsheet_safe(viewer_client, grant):  # noqa: F811
    ewsjob = make_job(grant, status=Job.Status.SUCCEEDED, done=3)
    add_found(ewsjob, 20, subject='=HYPERLINK("http://evil","{i}")', sender="+1@x.example")
    target = ewsjob.targets.first()
    target.results.filter(position=0).update(subject="-2+3", sender="@SUM(A1)", folder="\tTab")
    page = viewer_client.get(f"/ews-jobs/{ewsjob.pk}/").content.decode()
    assert "Showing 1–50 of 60" in page and "Download 60 rows as CSV" in page
    second = viewer_client.get(f"/ews-jobs/{ewsjob.pk}/?rpage=2").content.decode()
    assert "Showing 51–60 of 60" in second

    response = viewer_client.get(f"/ews-jobs/{ewsjob.pk}/results.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="ews-search-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["mailbox", "folder", "subject", "sender", "received", "has_attachments",
                       "size", "outcome", "error"]  # fmt: skip
    assert len(rows) == 61
    first = rows[1]
    assert first[:4] == [target.mailbox, "'\tTab", "'-2+3", "'@SUM(A1)"]
    assert first[5:7] == ["no", "1000"]
    others = rows[2:]
    assert all(r[2].startswith("'=HYPERLINK") and r[3] == "'+1@x.example" for r in others)
    # Nothing a spreadsheet would run: every cell starts with a quote or a harmless character.
    assert not [c for r in rows for c in r if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    event = AuditEvent.objects.get(action="ewsjob.export")
    assert event.after == {"rows": 60} and event.actor_username == "vera-viewer"


def test_cancel_a_queued_job_ends_it_with_one_event(operator_client, grant):  # noqa: F811
    ewsjob = make_job(grant, status=Job.Status.QUEUED, total=0)
    assert "Waiting for a worker" in operator_client.get(f"/ews-jobs/{ewsjob.pk}/").content.decode()
    response = operator_client.post(f"/ews-jobs/{ewsjob.pk}/cancel/")
    assert response.status_code == 302 and response.url == f"/ews-jobs/{ewsjob.pk}/"
    ewsjob.job.refresh_from_db()
    assert ewsjob.job.status == Job.Status.CANCELLED
    events = AuditEvent.objects.filter(action="ewsjob.cancel")
    assert [(e.result, e.after) for e in events] == [("success", {"accepted": True})]
    page = operator_client.get(response.url).content.decode()
    assert "Cancel requested" in page and "Cancelled: 0 of 0 done" in page
    assert f"/ews-jobs/{ewsjob.pk}/cancel/" not in page  # no button on an ended job


def test_cancel_an_ended_job_changes_nothing(operator_client, done_search):
    response = operator_client.post(f"/ews-jobs/{done_search.pk}/cancel/", follow=True)
    assert "already ended" in response.content.decode()
    done_search.job.refresh_from_db()
    assert done_search.job.status == Job.Status.SUCCEEDED
    event = AuditEvent.objects.get(action="ewsjob.cancel")
    assert event.result == "failure" and event.after == {"accepted": False}


def test_retry_starts_a_job_for_the_failed_mailboxes(
    operator_client,
    grant,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    ewsjob = make_job(grant, status=Job.Status.PROBLEMS, done=1, failed=2)
    ewsjob.targets.filter(mailbox__in=BOXES[:2]).update(status=Target.Status.FAILED)
    ewsjob.targets.filter(mailbox=BOXES[2]).update(status=Target.Status.DONE)
    with django_capture_on_commit_callbacks(execute=True):  # the job is sent once committed
        response = operator_client.post(f"/ews-jobs/{ewsjob.pk}/retry/")
    retry = EwsJob.objects.get(retry_of=ewsjob)
    assert response.status_code == 302 and response.url == f"/ews-jobs/{retry.pk}/"
    assert sorted(retry.targets.values_list("mailbox", flat=True)) == BOXES[:2]
    assert retry.key_base == ewsjob.key_base and retry.params == ewsjob.params
    event = AuditEvent.objects.get(action="ewsjob.retry")
    assert event.result == "success" and event.after == {"retry": str(retry.pk), "mailboxes": 2}
    assert AuditEvent.objects.filter(action="job.start", target_id=str(retry.pk)).count() == 1
    first = operator_client.get(f"/ews-jobs/{ewsjob.pk}/").content.decode()
    assert f"/ews-jobs/{retry.pk}/" in first


def test_retry_without_failures_is_refused_in_words(operator_client, done_search):
    response = operator_client.post(f"/ews-jobs/{done_search.pk}/retry/", follow=True)
    assert "nothing to retry" in response.content.decode()
    assert EwsJob.objects.count() == 1
    assert AuditEvent.objects.get(action="ewsjob.retry").result == "denied"


def test_viewer_cannot_cancel_retry_or_run(viewer_client, grant):  # noqa: F811
    ewsjob = make_job(grant, status=Job.Status.QUEUED)
    dry = make_job(grant, kind="rules", dry_run=True, status=Job.Status.SUCCEEDED)
    for url in (f"/ews-jobs/{ewsjob.pk}/cancel/", f"/ews-jobs/{ewsjob.pk}/retry/",
                f"/ews-jobs/{dry.pk}/run/"):  # fmt: skip
        assert viewer_client.post(url).status_code == 403, url
    ewsjob.job.refresh_from_db()
    assert ewsjob.job.status == Job.Status.QUEUED and EwsJob.objects.count() == 2
    assert not AuditEvent.objects.filter(action__startswith="ewsjob.").exists()


def test_the_generic_job_page_links_to_the_ews_job(viewer_client, done_search):
    body = viewer_client.get(f"/jobs/{done_search.pk}/").content.decode()
    assert f'href="/ews-jobs/{done_search.pk}/"' in body
    assert "Messages found: 6 (mailboxes: 3)." in body
