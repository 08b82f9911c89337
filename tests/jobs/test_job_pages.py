"""Job pages tell the truth in words: a failed test is never a green "Succeeded"."""

import datetime as dt
import socket

import pytest
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from portal.jobs.reaper import reap_stale
from portal.runs.models import Probe, ProbeRun, RunStatus
from portal.runs.tasks import run_probe_task


@pytest.fixture
def listening_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        yield s.getsockname()[1]


@pytest.fixture
def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _adhoc_tcp(client, port, capture):
    with capture(execute=True):
        response = client.post("/connectivity/adhoc/", {"probe": "tcp", "host": "127.0.0.1",
                                                        "port": port})  # fmt: skip
    assert response.status_code == 302
    run = ProbeRun.objects.latest("id")
    return run, Job.objects.get(pk=run.job_id)


def test_a_failed_test_makes_a_job_that_says_so(
    operator_client, eager_celery, closed_port, django_capture_on_commit_callbacks
):
    run, job = _adhoc_tcp(operator_client, closed_port, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAIL
    assert job.status == Job.Status.PROBLEMS
    page = operator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Succeeded" not in page
    assert "Finished: problems found" in page and "1 failed" in page
    assert f'href="/connectivity/runs/{run.pk}/"' in page
    assert "{&#x27;" not in page and "{'run'" not in page  # no raw dict
    event = AuditEvent.objects.get(action="connectivity.run", target_id=str(run.pk))
    assert event.result == "failure"


def test_a_passed_test_makes_a_succeeded_job(
    operator_client, eager_celery, listening_port, django_capture_on_commit_callbacks
):
    run, job = _adhoc_tcp(operator_client, listening_port, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.PASS and job.status == Job.Status.SUCCEEDED
    page = operator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Succeeded" in page and "1 passed" in page
    assert AuditEvent.objects.get(action="connectivity.run", target_id=str(run.pk)).result == (
        "success"
    )


def test_a_second_delivery_of_a_finished_job_does_nothing(
    operator_client, eager_celery, listening_port, django_capture_on_commit_callbacks
):
    run, job = _adhoc_tcp(operator_client, listening_port, django_capture_on_commit_callbacks)
    finished = run.finished_at
    # What Redis or RabbitMQ do when they redeliver a message whose worker was lost.
    again = run_probe_task.apply_async(kwargs={"run_id": run.pk}, task_id=str(job.pk))
    assert again.result == {"skipped": True}
    run.refresh_from_db()
    assert run.finished_at == finished
    assert AuditEvent.objects.filter(action="connectivity.run").count() == 1


def test_test_everything_page_counts_in_words_with_a_link_per_run(operator_client):
    job = Job.objects.create(kind="connectivity.everything", label="Test everything",
                             status=Job.Status.PROBLEMS,
                             message="2 passed, 1 failed, 2 could not run",
                             result={"message": "2 passed, 1 failed, 2 could not run"})  # fmt: skip
    statuses = [RunStatus.PASS, RunStatus.PASS, RunStatus.FAIL, RunStatus.ERROR, RunStatus.ERROR]
    runs = [ProbeRun.objects.create(probe=Probe.TCP, status=s, job=job, params={"host": "h"})
            for s in statuses]  # fmt: skip
    page = operator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "2 passed, 1 failed, 2 could not run" in page
    assert page.count("2 passed, 1 failed, 2 could not run") == 1  # not again as "Details"
    for run in runs:
        assert f'href="/connectivity/runs/{run.pk}/"' in page


def test_verify_now_job_says_the_chain_is_intact_in_words(
    admin_client, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/audit/")
    job = Job.objects.get(kind="audit.verify")
    assert response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    page = admin_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "The audit chain is intact" in page and "events checked" in page
    assert "first_bad_seq" not in page


def test_a_job_received_by_a_worker_that_died_before_starting_it_is_sent_again(
    db, eager_celery, listening_port, settings, django_capture_on_commit_callbacks
):
    settings.JOB_STALE_SECONDS = 60
    run = ProbeRun.objects.create(probe=Probe.TCP, params={"host": "127.0.0.1",
                                                           "port": listening_port})  # fmt: skip
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    job = Job.objects.create(
        kind="connectivity.run", label="TCP", task_name=run_probe_task.name,
        kwargs={"run_id": run.pk, "sealed_password": None}, worker="gone@host",
        heartbeat_at=long_ago,
    )  # fmt: skip
    ProbeRun.objects.filter(pk=run.pk).update(job=job)
    assert reap_stale() == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
    run.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.attempts == 1
    assert run.status == RunStatus.PASS
    assert AuditEvent.objects.filter(action="job.requeue", target_id=str(job.pk)).count() == 1


def test_a_job_tried_too_often_is_failed_not_sent_again(db, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    run = ProbeRun.objects.create(probe=Probe.TCP, status=RunStatus.RUNNING,
                                  params={"host": "127.0.0.1", "port": 9})  # fmt: skip
    job = Job.objects.create(
        kind="connectivity.run", label="TCP", task_name=run_probe_task.name,
        kwargs={"run_id": run.pk}, status=Job.Status.RUNNING, attempts=3, worker="w@h",
        heartbeat_at=timezone.now() - dt.timedelta(hours=1),
    )  # fmt: skip
    assert reap_stale() == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    run.refresh_from_db()
    assert job.status == Job.Status.FAILED and "tried 3 times" in job.message
    assert run.status == RunStatus.ERROR
    assert reap_stale() == {"requeued": 0, "failed": 0}  # nothing left to do, nothing written
    assert AuditEvent.objects.filter(action="job.fail").count() == 1


def test_an_attempt_that_lost_its_lease_cannot_overwrite_the_job(db):
    from portal.jobs.execution import _finish, claim

    job = Job.objects.create(kind="x", label="x")
    first = claim(str(job.pk), "w1")
    # The reaper gave the job to a new attempt meanwhile.
    Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED)
    second = claim(str(job.pk), "w2")
    assert (first.attempt, second.attempt) == (1, 2)
    _finish(first, {"outcome": "problems"})
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.worker == "w2"
    _finish(second, {"outcome": "ok"})
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED


def test_a_job_that_has_not_started_claims_no_outcome(operator_client):
    job = Job.objects.create(kind="connectivity.everything", label="Test everything")
    page = operator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Queued" in page and "no tests" not in page and "Outcome" not in page
