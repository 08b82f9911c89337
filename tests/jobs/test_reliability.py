"""No stuck work: a worker killed mid-job, a broker that cannot take the message.

Real peers only: `celery worker` processes on this run's broker (the file-system transport on
the embedded leg, Redis on the service leg), aiosmtpd as the server under test, a private
redis-server that is stopped, a file-system queue folder that cannot be written.
"""

import pytest

from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from portal.jobs.tasks import reap_stale_task
from portal.runs.models import ProbeRun, RunStatus
from tests.jobs.helpers import (
    Worker,
    gated_smtp_server,
    private_redis,
    unwritable_filesystem_broker,
    wait_for,
)

FAST = {"JOB_HEARTBEAT_SECONDS": 1, "JOB_STALE_SECONDS": 4, "PROBE_TIMEOUT": 60}


@pytest.fixture
def purged_broker(transactional_db):
    from portal.celery import app

    app.control.purge()  # messages left by earlier tests would run against a flushed database
    yield


def _start_adhoc(client, port, **extra):
    data = {"probe": "smtp", "host": "127.0.0.1", "port": port, "security": "none", **extra}
    response = client.post("/connectivity/adhoc/", data)
    assert response.status_code == 302, response.content[:500]
    run = ProbeRun.objects.latest("id")
    return run, Job.objects.get(pk=run.job_id)


def _kill_mid_run(tmp_path, client, port, gate, **extra):
    """Start a run, let worker A claim it and beat, SIGKILL A; returns (run, job, worker B)."""
    worker_a = Worker(tmp_path / "a.log", "a", **FAST)
    try:
        worker_a.wait_ready()
        run, job = _start_adhoc(client, port, **extra)

        def beating():
            job.refresh_from_db()
            return job.status == Job.Status.RUNNING and job.heartbeat_at > job.started_at

        assert wait_for(beating, 60), worker_a.text()
        worker_a.kill()
    finally:
        worker_a.stop()
    gate.set()  # the server greets from now on: a new attempt can pass
    worker_b = Worker(tmp_path / "b.log", "b", **FAST)
    worker_b.wait_ready()
    return run, job, worker_b


def _beat_until(predicate, timeout=90):
    """What Celery beat does every 30 s, every 2 s here: send the reaper to the worker."""

    def tick():
        if predicate():
            return True
        reap_stale_task.delay()
        return False

    return wait_for(tick, timeout, interval=2)


@pytest.mark.usefixtures("purged_broker")
def test_a_run_whose_worker_is_killed_is_run_again_to_the_end_exactly_once(
    tmp_path, operator_client
):
    with gated_smtp_server() as (port, gate):
        run, job, worker_b = _kill_mid_run(tmp_path, operator_client, port, gate)
        try:
            done = _beat_until(lambda: Job.objects.get(pk=job.pk).is_done)
            assert done, worker_b.text()
        finally:
            worker_b.stop()
    job.refresh_from_db()
    run.refresh_from_db()
    assert job.status in {Job.Status.SUCCEEDED, Job.Status.WARNING}, job.message
    assert job.attempts == 2
    assert run.status in {RunStatus.PASS, RunStatus.WARN}
    assert run.steps and not [s for s in run.steps if s["status"] == "fail"], run.steps
    requeue = AuditEvent.objects.get(action="job.requeue", target_id=str(job.pk))
    assert "stopped answering" in requeue.after["reason"]
    # The killed attempt never finished, so exactly one run outcome is on record.
    assert AuditEvent.objects.filter(action="connectivity.run", target_id=str(run.pk)).count() == 1


@pytest.mark.usefixtures("purged_broker")
def test_a_run_that_cannot_be_repeated_is_failed_in_words_when_its_worker_dies(
    tmp_path, operator_client
):
    # The typed password is used once and never kept: this run cannot be sent again.
    with gated_smtp_server() as (port, gate):
        run, job, worker_b = _kill_mid_run(
            tmp_path, operator_client, port, gate, username="fax@contoso.test", password="pw-1"
        )
        try:
            assert _beat_until(lambda: Job.objects.get(pk=job.pk).is_done), worker_b.text()
        finally:
            worker_b.stop()
    job.refresh_from_db()
    run.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "stopped answering" in job.message and "not safe to repeat" in job.message
    assert "What to do" in job.message
    assert run.status == RunStatus.ERROR and "stopped answering" in run.error
    event = AuditEvent.objects.get(action="job.fail", target_id=str(job.pk))
    assert event.result == "failure"
    assert job.attempts == 1


def _assert_start_failed_honestly(client, response, words):
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert words.encode() in page.content
    assert not Job.objects.filter(status__in=Job.ACTIVE).exists()
    assert not ProbeRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists()
    starts = AuditEvent.objects.filter(action="job.start")
    assert starts.exists() and all(e.result == "failure" for e in starts)


def test_an_unwritable_queue_folder_gives_words_not_a_500_and_leaves_nothing_queued(
    transactional_db, operator_client
):
    with unwritable_filesystem_broker() as folder:
        response = operator_client.post(
            "/connectivity/adhoc/", {"probe": "tcp", "host": "127.0.0.1", "port": 9}
        )
        _assert_start_failed_honestly(operator_client, response, "The job queue is not available")
        run = ProbeRun.objects.get()
        assert run.status == RunStatus.ERROR and folder in run.error
        job = Job.objects.get()
        assert job.status == Job.Status.FAILED and "cannot be written" in job.message
        everything = operator_client.post("/connectivity/everything/")
        _assert_start_failed_honestly(operator_client, everything, "What to do")
    assert Job.objects.filter(status=Job.Status.FAILED).count() == 2


def test_a_stopped_redis_gives_words_not_a_500_and_leaves_nothing_queued(
    transactional_db, operator_client, admin_client
):
    from tests.jobs.helpers import broker

    with private_redis() as (url, stop_redis), broker(url):
        ok = operator_client.post(
            "/connectivity/adhoc/", {"probe": "tcp", "host": "127.0.0.1", "port": 9}
        )
        assert ok.status_code == 302
        assert Job.objects.get().status == Job.Status.QUEUED  # the message is in that Redis
        stop_redis()
        Job.objects.all().delete()
        ProbeRun.objects.all().delete()
        AuditEvent.objects.none()
        response = operator_client.post(
            "/connectivity/adhoc/", {"probe": "tcp", "host": "127.0.0.1", "port": 9}
        )
        assert response.status_code == 302
        page = operator_client.get(response["Location"])
        assert b"refused the connection" in page.content
        assert b"redis://127.0.0.1" in page.content and b"Traceback" not in page.content
        job = Job.objects.get()
        assert job.status == Job.Status.FAILED
        assert ProbeRun.objects.get().status == RunStatus.ERROR
        failed_start = AuditEvent.objects.filter(action="job.start", target_id=str(job.pk))
        assert [e.result for e in failed_start] == ["failure"]
        verify = admin_client.post("/audit/")
        assert verify.status_code == 302
        assert b"The job queue is not available" in admin_client.get(verify["Location"]).content


def _kill_when_only_smtp_is_left(tmp_path, start) -> tuple[Job, dict]:
    """Start a batch with a worker, kill it (SIGKILL) while only the gated SMTP run is left;
    return the job and when each run that had ended ended."""
    worker_a = Worker(tmp_path / "a.log", "a", **FAST)
    try:
        worker_a.wait_ready()
        job = start()

        def only_smtp_left():
            runs = ProbeRun.objects.filter(job=job)
            return runs.count() > 1 and [r.probe for r in runs if not r.is_done] == ["smtp"]

        assert wait_for(only_smtp_left, 60), worker_a.text()
        worker_a.kill()
    finally:
        worker_a.stop()
    return job, {r.pk: r.finished_at for r in ProbeRun.objects.filter(job=job) if r.is_done}


def _finish_with_a_second_worker(tmp_path, job: Job, gate) -> None:
    gate.set()
    worker_b = Worker(tmp_path / "b.log", "b", **FAST)
    try:
        worker_b.wait_ready()
        assert _beat_until(lambda: Job.objects.get(pk=job.pk).is_done), worker_b.text()
    finally:
        worker_b.stop()


@pytest.mark.usefixtures("purged_broker")
def test_test_everything_resumes_after_its_worker_is_killed(tmp_path, operator_client):
    from portal.tenants.models import Tenant

    with gated_smtp_server() as (port, gate):
        # Only SMTP is set: that run waits at the gate, the other tests of the tenant end at
        # once ("could not run": nothing configured) before the worker is killed.
        Tenant.objects.create(
            name="Relay only", kind=Tenant.Kind.SERVER, auth_method=Tenant.Auth.BASIC,
            smtp_host="127.0.0.1", smtp_port=port, smtp_security=Tenant.Security.NONE,
        )  # fmt: skip

        def start():
            response = operator_client.post("/connectivity/everything/")
            job = Job.objects.get(kind="connectivity.everything")
            assert response["Location"] == f"/jobs/{job.pk}/"
            return job

        job, ended_first = _kill_when_only_smtp_is_left(tmp_path, start)
        _finish_with_a_second_worker(tmp_path, job, gate)
    job.refresh_from_db()
    runs = {r.pk: r for r in ProbeRun.objects.filter(job=job)}
    assert len(runs) == len(ended_first) + 1  # no run was created twice
    assert all(r.is_done for r in runs.values())
    # Runs that had finished were kept as they were; only the interrupted one ran again.
    assert all(runs[pk].finished_at == at for pk, at in ended_first.items())
    smtp = next(r for r in runs.values() if r.probe == "smtp")
    assert smtp.status in {RunStatus.PASS, RunStatus.WARN}, smtp.steps
    assert job.attempts == 2 and job.status == Job.Status.PROBLEMS  # the unconfigured ones
    page = operator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "could not run" in page and "Succeeded" not in page


@pytest.mark.usefixtures("purged_broker")
def test_scheduled_runs_resume_after_their_worker_is_killed(tmp_path):
    from django.utils import timezone

    from portal.runs.models import Schedule
    from portal.runs.tasks import dispatch_due_schedules
    from portal.tenants.models import Tenant

    with gated_smtp_server() as (port, gate):
        # The SMTP run waits at the gate; the tenant's other scheduled tests end at once
        # ("could not run": nothing configured) before the worker is killed.
        tenant = Tenant.objects.create(
            name="Relay only", kind=Tenant.Kind.SERVER, auth_method=Tenant.Auth.BASIC,
            smtp_host="127.0.0.1", smtp_port=port, smtp_security=Tenant.Security.NONE,
        )  # fmt: skip
        for probe in ("smtp", "imap", "pop3", "tls", "ews"):
            Schedule.objects.create(tenant=tenant, probe=probe, next_due=timezone.now())

        def start():
            assert dispatch_due_schedules() == {"started": 5, "not_started": 0}
            return Job.objects.get(kind="connectivity.scheduled")

        job, ended_first = _kill_when_only_smtp_is_left(tmp_path, start)
        assert len(ended_first) == 4
        _finish_with_a_second_worker(tmp_path, job, gate)
    job.refresh_from_db()
    runs = {r.pk: r for r in ProbeRun.objects.filter(job=job)}
    assert len(runs) == 5 and ProbeRun.objects.count() == 5  # no run was created twice
    # Runs that had finished were kept as they were; only the interrupted one ran again.
    assert all(runs[pk].finished_at == at for pk, at in ended_first.items())
    smtp = next(r for r in runs.values() if r.probe == "smtp")
    assert smtp.status in {RunStatus.PASS, RunStatus.WARN}, smtp.steps
    assert job.attempts == 2 and job.status == Job.Status.PROBLEMS  # the unconfigured ones
    # Exactly one outcome on record per run: the finished ones were not run (or told) again.
    events = AuditEvent.objects.filter(action="connectivity.run")
    assert sorted(e.target_id for e in events) == sorted(str(pk) for pk in runs)
    assert AuditEvent.objects.filter(action="job.requeue", target_id=str(job.pk)).count() == 1


@pytest.mark.usefixtures("purged_broker")
def test_a_pool_process_killed_mid_run_is_noticed_at_once_and_the_run_repeated(
    tmp_path, operator_client
):
    import os
    import signal

    with gated_smtp_server() as (port, gate):
        worker = Worker(tmp_path / "w.log", "prefork", pool="prefork", **FAST)
        try:
            worker.wait_ready()
            run, job = _start_adhoc(operator_client, port)
            assert wait_for(lambda: Job.objects.get(pk=job.pk).status == Job.Status.RUNNING, 60)
            (child,) = worker.children()
            os.kill(child, signal.SIGKILL)  # the main process stays: it must notice by itself
            gate.set()
            # No reaper is sent here: the worker's own "process lost" signal re-drives the job.
            assert wait_for(lambda: Job.objects.get(pk=job.pk).is_done, 60), worker.text()
        finally:
            worker.stop()
    job.refresh_from_db()
    run.refresh_from_db()
    assert job.attempts == 2 and job.status in {Job.Status.SUCCEEDED, Job.Status.WARNING}
    assert run.status in {RunStatus.PASS, RunStatus.WARN}
    requeue = AuditEvent.objects.get(action="job.requeue", target_id=str(job.pk))
    assert "ended unexpectedly" in requeue.after["reason"]
