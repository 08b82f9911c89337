"""Start background jobs: one Job row per Celery task, enqueued after the commit."""

from django.db import transaction

from portal.audit import context
from portal.audit.api import record
from portal.audit.celery_context import HEADER
from portal.jobs.models import Job


def start_job(task, *, kind: str, label: str, kwargs: dict, tenant=None) -> Job:
    """Create the Job and enqueue ``task`` with its id once the transaction commits.

    Task arguments are ids and JSON only; the audit context (actor, request id)
    travels in the message headers.
    """
    ctx = context.current()
    job = Job.objects.create(
        kind=kind,
        label=label[:200],
        created_by_id=ctx.actor_id,
        request_id=ctx.request_id,
        tenant_id=str(tenant.pk) if tenant is not None else "",
    )
    job_id = str(job.pk)
    record("job.start", target=job, tenant=tenant, after={"kind": kind, "kwargs": kwargs})
    # The context is captured now: the commit may happen after the request has finished.
    headers = {HEADER: ctx.as_headers()}
    transaction.on_commit(lambda: task.apply_async(kwargs=kwargs, task_id=job_id, headers=headers))
    return job


def set_progress(job_id: str, progress: int, message: str = "") -> None:
    Job.objects.filter(pk=job_id).update(progress=max(0, min(100, progress)), message=message[:400])
