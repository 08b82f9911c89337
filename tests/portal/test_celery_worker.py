"""A real `celery worker` process runs a job started from a request, keeping who started it."""

import time

from portal.audit.models import AuditEvent
from portal.jobs.models import Job


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
