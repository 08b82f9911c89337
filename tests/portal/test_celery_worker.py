"""A real `celery worker` process runs a job started from a request, keeping who started it."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from portal.audit.models import AuditEvent
from portal.jobs.models import Job

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    from portal.celery import app

    app.control.purge()  # messages left by earlier tests would run against a flushed database
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo",
         "--without-mingle", "--without-gossip", "--loglevel=INFO",
         f"--hostname=test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_job_runs_in_a_real_worker_with_the_actor_and_request_id(
    celery_worker_process, admin_client, admin_user, tmp_path
):
    response = admin_client.post("/audit/")
    assert response.status_code == 302
    job = Job.objects.get(kind="audit.verify")
    assert response["Location"] == f"/jobs/{job.pk}/"
    finished = _wait_for(lambda: Job.objects.get(pk=job.pk).is_done)
    log = (tmp_path / "worker.log").read_text()
    assert finished, f"worker did not finish the job; its log:\n{log}"
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.result["intact"] is True
    assert job.progress == 100 and job.started_at and job.finished_at
    event = AuditEvent.objects.get(action="audit.verify", job_id=str(job.pk))
    assert event.job_id == str(job.pk)
    assert event.actor_id == admin_user.pk
    assert event.actor_username == admin_user.username
    assert event.request_id == response["X-Request-ID"]
    assert event.after["checked"] >= 1
    # The detail page polls while running and shows the outcome once done.
    page = admin_client.get(f"/jobs/{job.pk}/")
    assert b"Succeeded" in page.content
