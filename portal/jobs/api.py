"""Start background jobs and end them honestly: one Job row per Celery task.

A job's message is sent only after its row is committed, so the worker always finds the row it
claims. A message that cannot be sent ends the job at once as failed, with the reason in words,
and its audit event says so; nothing stays "queued".
"""

from django.db import connection, transaction
from django.utils import timezone

from portal.audit import context
from portal.audit.api import record
from portal.jobs import kinds
from portal.jobs.models import Job
from portal.jobs.queue import QueueUnavailable, send

__all__ = ["QueueUnavailable", "end_interrupted", "set_progress", "start_job"]

# Task arguments named ``sealed_*`` carry one-time secrets (encrypted for the message only);
# the row keeps only the fact that one was given, so such a job is never sent again.
WITHHELD = "withheld"


def _kept(kwargs: dict) -> dict:
    return {k: (WITHHELD if k.startswith("sealed_") and v else v) for k, v in kwargs.items()}


def start_job(task, *, kind: str, label: str, kwargs: dict, tenant=None) -> Job:
    """Create the Job and send ``task`` with its id once the row is committed.

    Outside a transaction (a view, a beat task) the message is sent now and a broker failure
    raises QueueUnavailable for the caller to show; inside one, it is sent on commit and a
    failure is recorded on the job instead. Task arguments are ids and JSON only; the audit
    context (actor, request id) travels in the message headers and is kept on the row.
    """
    ctx = context.current()
    job = Job.objects.create(
        kind=kind,
        label=label[:200],
        created_by_id=ctx.actor_id,
        request_id=ctx.request_id,
        tenant_id=str(tenant.pk) if tenant is not None else "",
        task_name=task.name,
        kwargs=_kept(kwargs),
        context=ctx.as_headers(),
    )
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _send(job, kwargs, tenant, raise_error=False))
    else:
        _send(job, kwargs, tenant, raise_error=True)
    return job


def _send(job: Job, kwargs: dict, tenant, *, raise_error: bool) -> None:
    audit = {"kind": job.kind, "kwargs": kwargs}
    try:
        send(job, kwargs)
    except QueueUnavailable as exc:
        exc.job = job
        end_interrupted(job, str(exc), audit_action="job.start", audit_after=audit, tenant=tenant)
        if raise_error:
            raise
        return
    record("job.start", target=job, tenant=tenant, after=audit)


def end_interrupted(job: Job, reason: str, *, audit_action="job.fail", audit_after=None,
                    tenant=None) -> bool:  # fmt: skip
    """Fail a job that did not finish (no queue, worker lost) and close the rows it made.

    Returns False when someone else ended or took the job first (nothing is written then).
    """
    now = timezone.now()
    ended = Job.objects.filter(pk=job.pk, status__in=Job.ACTIVE, attempts=job.attempts).update(
        status=Job.Status.FAILED, finished_at=now, heartbeat_at=None, message=reason[:400]
    )
    if not ended:
        return False
    job.status, job.message, job.finished_at = Job.Status.FAILED, reason[:400], now
    kinds.get(job.kind).interrupted(job, reason)
    after = {**(audit_after or {}), "reason": reason, "attempts": job.attempts}
    record(audit_action, target=job, tenant=tenant, after=after, result="failure")
    return True


def set_progress(job_id: str, progress: int, message: str = "") -> None:
    Job.objects.filter(pk=job_id).update(progress=max(0, min(100, progress)), message=message[:400])
