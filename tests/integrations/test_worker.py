"""An integration check started from the page runs in a real `celery worker` process against
the sandbox Exchange: results, status and the audit event carry the person who started it."""

import time

from portal.audit.models import AuditEvent
from portal.integrations.models import FeatureStatus
from portal.jobs.models import Job
from portal.tenants.sandbox import register_sandbox_tenant

from .conftest import make_integration


def _wait_for(predicate, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_check_runs_in_a_real_worker(celery_worker_process, sandbox_exchange, operator_client,
                                     operator_user, tmp_path):  # fmt: skip
    tenant = register_sandbox_tenant(sandbox_exchange.info)[0]
    integration = make_integration(tenant, features=["ews_calendar", "voicemail"])
    response = operator_client.post(f"/integrations/{integration.pk}/check/")
    job = Job.objects.get(kind="integrations.check")
    assert response["Location"] == f"/jobs/{job.pk}/"
    finished = _wait_for(lambda: Job.objects.get(pk=job.pk).is_done)
    log = (tmp_path / "worker.log").read_text()
    assert finished, f"worker did not finish the job; its log:\n{log}"
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.message
    states = dict(FeatureStatus.objects.values_list("feature", "status"))
    assert states == {"ews_calendar": "green", "voicemail": "retired"}
    event = AuditEvent.objects.get(action="integration.check")
    assert event.job_id == str(job.pk) and event.actor_id == operator_user.pk
