"""Due schedules run as one job within CONNECTIVITY_CONCURRENCY, against real SMTP peers.

The peer is aiosmtpd: it holds each EHLO a moment and counts how many sessions are at that
point at once, so the bound is measured where it matters, at the server.
"""

import asyncio
import contextlib
import socket

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from portal.runs.models import ProbeRun, RunStatus, Schedule
from portal.runs.tasks import dispatch_due_schedules
from portal.tenants.models import Tenant


class _CountingHandler:
    """Holds every EHLO for ``hold`` seconds and keeps the peak of EHLOs held at once."""

    def __init__(self, hold: float):
        self.hold, self.now, self.peak, self.sessions = hold, 0, 0, 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        self.now += 1  # the controller's one event loop: no lock needed
        self.sessions += 1
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(self.hold)
        finally:
            self.now -= 1
        session.host_name = hostname
        return responses


@contextlib.contextmanager
def counting_smtp(hold: float = 0.3):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = _CountingHandler(hold)
    controller = Controller(handler, hostname="127.0.0.1", port=port,
                            server_hostname="mail.contoso.test", ready_timeout=5)  # fmt: skip
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _relay_schedules(count: int, port: int) -> list[Schedule]:
    """``count`` on-premises tenants whose SMTP test is scheduled and due now."""
    schedules = []
    for index in range(count):
        tenant = Tenant.objects.create(
            name=f"Relay {index}", kind=Tenant.Kind.SERVER, auth_method=Tenant.Auth.BASIC,
            smtp_host="127.0.0.1", smtp_port=port, smtp_security=Tenant.Security.NONE,
        )  # fmt: skip
        schedules.append(Schedule.objects.create(
            tenant=tenant, probe="smtp", interval_minutes=5, next_due=timezone.now(),
            notify_emails=[f"noc{index}@contoso.test"],
        ))  # fmt: skip
    return schedules


def test_due_schedules_are_one_job_within_the_concurrency_bound(
    transactional_db, settings, eager_celery, viewer_client
):
    settings.CONNECTIVITY_CONCURRENCY = 3
    with counting_smtp() as (port, peer):
        _relay_schedules(7, port)
        assert dispatch_due_schedules() == {"started": 7, "not_started": 0}
        assert dispatch_due_schedules() == {"started": 0, "not_started": 0}  # next due in 5 min
    assert peer.sessions == 7
    assert 1 < peer.peak <= 3, peer.peak  # never more than three probes at the server at once
    job = Job.objects.get()
    assert job.kind == "connectivity.scheduled" and job.label == "Scheduled tests (7)"
    assert job.status == Job.Status.SUCCEEDED and job.progress == 100, job.message
    assert job.message == "7 passed" and job.attempts == 1
    runs = list(ProbeRun.objects.all())
    assert len(runs) == 7 and all(r.job_id == job.pk and r.schedule_id for r in runs)
    assert all(r.status == RunStatus.PASS for r in runs), [r.steps for r in runs]
    # Each run keeps its own outcome on record, in the job's audit context.
    events = AuditEvent.objects.filter(action="connectivity.run")
    assert sorted(e.target_id for e in events) == sorted(str(r.pk) for r in runs)
    assert all(e.result == "success" and e.job_id == str(job.pk) for e in events)
    assert AuditEvent.objects.filter(action="job.start").count() == 1
    assert mail.outbox == []  # a first result is no change
    # The job page lists the runs, its label in the reader's language.
    page = viewer_client.get(f"/jobs/{job.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Проверки по расписанию (7)" in page
    assert all(f"/connectivity/runs/{r.pk}/" in page for r in runs)


def test_each_scheduled_run_mails_its_own_change_and_records_its_true_result(
    transactional_db, settings, eager_celery
):
    settings.CONNECTIVITY_CONCURRENCY = 2
    with counting_smtp(hold=0) as (port, _peer):
        schedules = _relay_schedules(4, port)
        dispatch_due_schedules()
        assert set(ProbeRun.objects.values_list("status", flat=True)) == {RunStatus.PASS}
        # Two relays move to a port nobody listens on; the other two keep passing.
        moved = [s.tenant for s in schedules[:2]]
        Tenant.objects.filter(pk__in=[t.pk for t in moved]).update(smtp_port=_closed_port())
        Schedule.objects.update(next_due=timezone.now())
        assert dispatch_due_schedules() == {"started": 4, "not_started": 0}
    second = Job.objects.latest("created_at")
    assert second.status == Job.Status.PROBLEMS and "2 passed" in second.message
    second_runs = ProbeRun.objects.filter(job=second).select_related("tenant")
    failed = {r.tenant.name for r in second_runs if r.status not in {RunStatus.PASS}}
    assert failed == {t.name for t in moved}
    results = {
        e.target_id: e.result
        for e in AuditEvent.objects.filter(action="connectivity.run", job_id=str(second.pk))
    }
    assert results == {
        str(r.pk): "success" if r.status == RunStatus.PASS else "failure" for r in second_runs
    }
    # One mail per changed schedule, to that schedule's own address; none for the unchanged.
    assert sorted(m.to[0] for m in mail.outbox) == ["noc0@contoso.test", "noc1@contoso.test"]
    assert all("pass → " in m.subject and "[Relay " in m.subject for m in mail.outbox)
    notified = AuditEvent.objects.filter(action="connectivity.notify")
    assert notified.count() == 2 and all(e.result == "success" for e in notified)
    assert set(Schedule.objects.values_list("last_status", flat=True)) == {
        RunStatus.PASS,
        *(r.status for r in second_runs if r.tenant in moved),
    }


def test_scheduled_runs_without_a_queue_say_why(transactional_db):
    from tests.jobs.helpers import unwritable_filesystem_broker

    _relay_schedules(3, _closed_port())
    with unwritable_filesystem_broker() as folder:
        assert dispatch_due_schedules() == {"started": 0, "not_started": 3}
    job = Job.objects.get()
    assert job.status == Job.Status.FAILED and "cannot be written" in job.message
    runs = list(ProbeRun.objects.all())
    assert len(runs) == 3 and all(r.job_id == job.pk for r in runs)
    assert all(r.status == RunStatus.ERROR and folder in r.error for r in runs)
    start = AuditEvent.objects.get(action="job.start")
    assert start.result == "failure"
    # As before: a schedule whose run could not start is tried again at its next turn.
    assert all(s.next_due > timezone.now() for s in Schedule.objects.all())


def test_one_at_a_time_when_the_bound_is_one(transactional_db, settings, eager_celery):
    settings.CONNECTIVITY_CONCURRENCY = 1
    with counting_smtp(hold=0.1) as (port, peer):
        _relay_schedules(3, port)
        dispatch_due_schedules()
    assert peer.sessions == 3 and peer.peak == 1
    assert Job.objects.get().status == Job.Status.SUCCEEDED


def test_a_large_batch_goes_through_the_engines_worker_processes_within_the_bound(
    transactional_db, settings, eager_celery, monkeypatch
):
    from connectivity import fanout

    if fanout.cores() < 2:
        pytest.skip("one core: the fan-out stays in threads")
    settings.CONNECTIVITY_CONCURRENCY = 3
    monkeypatch.setattr(fanout, "PROCESS_MIN_PROBES", 1)  # this small batch takes the pool too
    pool = fanout.pool_for(1, 3)
    try:
        assert pool is not None and pool.wait_ready(30)
        with counting_smtp() as (port, peer):
            _relay_schedules(7, port)
            assert dispatch_due_schedules() == {"started": 7, "not_started": 0}
        assert pool.sent == 7  # every SMTP probe ran in a worker process
    finally:
        pool.close(wait=5)
    assert peer.sessions == 7 and 1 < peer.peak <= 3, peer.peak
    assert Job.objects.get().status == Job.Status.SUCCEEDED
    assert set(ProbeRun.objects.values_list("status", flat=True)) == {RunStatus.PASS}


def test_a_mail_that_cannot_go_is_on_record_and_the_other_runs_go_on(
    transactional_db, settings, eager_celery
):
    smtp = {"host": "127.0.0.1", "port": _closed_port(), "use_tls": False, "timeout": 5}
    settings.MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": smtp}
    }
    with counting_smtp(hold=0) as (port, _peer):
        _relay_schedules(3, port)
        Schedule.objects.update(last_status=RunStatus.FAIL)  # each pass is a change to mail
        assert dispatch_due_schedules() == {"started": 3, "not_started": 0}
    assert Job.objects.get().status == Job.Status.SUCCEEDED
    assert set(ProbeRun.objects.values_list("status", flat=True)) == {RunStatus.PASS}
    assert AuditEvent.objects.filter(action="connectivity.run").count() == 3
    notes = AuditEvent.objects.filter(action="connectivity.notify")
    assert notes.count() == 3 and all(e.result == "failure" for e in notes)
    assert all("ConnectionRefusedError" in e.after["error"] for e in notes)


def test_a_run_its_dead_worker_finished_but_never_recorded_is_recorded_on_resume(
    transactional_db, settings
):
    """The worker died between saving a run as finished and writing its audit event and mail:
    the job sent again does not run it again, so it records it then, once."""
    from portal.runs.tasks import run_scheduled_task

    settings.CONNECTIVITY_CONCURRENCY = 2
    with counting_smtp(hold=0) as (port, peer):
        [schedule] = _relay_schedules(1, port)
        Schedule.objects.filter(pk=schedule.pk).update(last_status=RunStatus.FAIL)
        finished = ProbeRun.objects.create(
            tenant=schedule.tenant, probe="smtp", schedule=schedule, status=RunStatus.PASS,
            started_at=timezone.now(), finished_at=timezone.now(),
        )  # fmt: skip
        pending = ProbeRun.objects.create(tenant=schedule.tenant, probe="smtp", schedule=schedule)
        ids = [finished.pk, pending.pk]
        run_scheduled_task(run_ids=ids)
        run_scheduled_task(run_ids=ids)  # sent a third time: nothing twice
    assert peer.sessions == 1  # only the unfinished run was probed
    events = AuditEvent.objects.filter(action="connectivity.run")
    assert sorted(int(e.target_id) for e in events) == sorted(ids)
    assert {e.result for e in events} == {"success"}
    # The recorded run turned the schedule from fail to pass: its mail went, once.
    assert [m.to for m in mail.outbox] == [["noc0@contoso.test"]]
    assert "fail → pass" in mail.outbox[0].subject
