"""A broker that restarts empty (Redis without persistence) loses no job: the job row is the
truth, and a queued job nobody received is sent again."""

import contextlib
import datetime as dt
import shutil
import socket
import subprocess

from django.conf import settings
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from portal.jobs.reaper import resend_unclaimed
from tests.ewsjobs.world import FAST, start_job, subjects
from tests.jobs.helpers import Worker, broker, free_port, wait_for


def _redis(port: int) -> subprocess.Popen:
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip

    def answers():
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        return False

    assert wait_for(answers, 15), "redis-server did not start"
    return proc


def test_a_job_whose_message_the_broker_lost_is_sent_again_and_runs_once(world, tmp_path):
    port = free_port()
    redis = _redis(port)
    box = world["boxes"][0]
    try:
        with broker(f"redis://127.0.0.1:{port}/0"):
            ewsjob = start_job(world, "tasks", {"task": {"subject": "Survives a restart"}},
                               targets=[box])  # fmt: skip
            job = Job.objects.get(pk=ewsjob.pk)
            assert job.status == Job.Status.QUEUED and job.sent_at is not None
            redis.terminate()
            redis.wait(10)
            redis = _redis(port)  # back, empty: the message is gone
            assert resend_unclaimed() == 0  # not yet: it may simply be waiting its turn
            later = timezone.now() + dt.timedelta(seconds=settings.JOB_RESEND_SECONDS + 1)
            assert resend_unclaimed(later) == 1
            assert resend_unclaimed() == 0  # just sent: not again on the next pass
            worker = Worker(tmp_path / "w.log", "w", **FAST)
            try:
                worker.wait_ready()
                assert wait_for(lambda: Job.objects.get(pk=job.pk).is_done, 90), worker.text()
            finally:
                worker.stop()
    finally:
        redis.terminate()
        redis.wait(10)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert subjects(world, box, "tasks", "Survives a restart") == ["Survives a restart"]
    assert AuditEvent.objects.filter(action="job.resend", target_id=str(job.pk)).count() == 1
