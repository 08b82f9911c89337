"""Find jobs whose worker is gone and re-drive or fail them — the broker is not trusted for it.

The file-system transport deletes a message as soon as a worker receives it, so a worker killed
mid-job takes the only copy with it; Redis and RabbitMQ give a message back only much later, if
at all. A job's heartbeat is the truth instead: an active job whose heartbeat is older than
JOB_STALE_SECONDS has no live executor. Work that is safe to repeat is sent again from its row
(at most JOB_MAX_ATTEMPTS attempts); anything else is failed with the reason in words.
"""

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_noop

from portal.audit.api import record
from portal.jobs import kinds
from portal.jobs.api import end_interrupted
from portal.jobs.models import Job
from portal.jobs.queue import QueueUnavailable, send

log = logging.getLogger(__name__)


def stale_jobs(now=None):
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.JOB_STALE_SECONDS)
    return Job.objects.filter(status__in=Job.ACTIVE, heartbeat_at__lt=cutoff)


def unclaimed_jobs(now=None):
    """Queued jobs no worker has received long after their message was sent."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.JOB_RESEND_SECONDS)
    return Job.objects.filter(status=Job.Status.QUEUED, worker="", sent_at__lt=cutoff)


def resend_unclaimed(now=None) -> int:
    """Send again the message of a queued job nobody received: a broker that restarted without
    persistence lost it. A second copy is harmless (the first claim wins, see execution.py)."""
    sent = 0
    for job in unclaimed_jobs(now):
        if not kinds.get(job.kind).repeatable(job):
            continue  # its one-time secret is gone; the person starts it again
        # Conditional: a second reaper on another machine finds it sent already.
        if not Job.objects.filter(
            pk=job.pk, sent_at=job.sent_at, worker="", status=Job.Status.QUEUED
        ).update(sent_at=timezone.now()):
            continue  # fmt: skip
        try:
            send(job, job.kwargs)
        except QueueUnavailable as exc:
            log.warning("job %s not sent again: %s", job.pk, exc)
            continue
        record("job.resend", target=job, after={"reason": "no worker received it",
                                                "sent_before": str(job.sent_at)})  # fmt: skip
        sent += 1
    return sent


def reap_stale(now=None) -> dict:
    """One pass: every stale job is re-driven or failed. Returns counts."""
    counts = {"requeued": 0, "failed": 0}
    for job in stale_jobs(now):
        seen = date_format(timezone.localtime(job.heartbeat_at), "Y-m-d H:i:s")
        # English on the row (a worker has no reader); translated when shown (portal.lib.translate).
        reason = gettext_noop(
            "The worker running this job (%(worker)s) stopped answering; it was last heard "
            "from at %(seen)s."
        ) % {"worker": job.worker or "?", "seen": seen}
        outcome = recover(job, reason)
        if outcome:
            counts[outcome] += 1
    if any(counts.values()):
        log.warning("stale jobs recovered: %s", counts)
    return counts


def recover(job: Job, reason: str) -> str | None:
    """Re-drive ``job`` if it is safe to repeat, else fail it. None if someone else acted."""
    kind = kinds.get(job.kind)
    may_repeat = job.task_name and job.attempts < settings.JOB_MAX_ATTEMPTS
    if may_repeat and kind.repeatable(job):
        return "requeued" if _requeue(job, kind, reason) else None
    if not job.task_name or job.attempts < settings.JOB_MAX_ATTEMPTS:
        why = gettext_noop("It was not started again because it is not safe to repeat.")
    else:
        why = gettext_noop("It was not started again: it has already been tried %(n)s times.") % {
            "n": job.attempts
        }
    words = f"{reason} {why} " + gettext_noop(
        "What to do: check the worker, then start the job again."
    )
    return "failed" if end_interrupted(job, words) else None


def _requeue(job: Job, kind, reason: str) -> bool:
    # Conditional on the state we read: a beat that arrives late, or a second reaper on another
    # machine, finds nothing to do.
    moved = Job.objects.filter(
        pk=job.pk, status=job.status, attempts=job.attempts, heartbeat_at=job.heartbeat_at
    ).update(
        status=Job.Status.QUEUED, worker="", heartbeat_at=None,
        message=(reason + " " + gettext_noop("Started again (attempt %(n)s of %(max)s).") % {
            "n": job.attempts + 1, "max": settings.JOB_MAX_ATTEMPTS})[:400],
    )  # fmt: skip
    if not moved:
        return False
    kind.requeued(job)
    try:
        send(job, job.kwargs)
    except QueueUnavailable as exc:
        job.status = Job.Status.QUEUED
        end_interrupted(job, f"{reason} {exc}")
        return False
    record(
        "job.requeue",
        target=job,
        after={"reason": reason, "attempt": job.attempts + 1, "worker": job.worker},
    )
    return True
