import logging

from celery import shared_task
from django.utils.translation import gettext_noop

from portal.grants import lifecycle, verification
from portal.jobs.api import QueueUnavailable, set_progress, start_job
from portal.jobs.execution import JobTask

log = logging.getLogger(__name__)


@shared_task(name="grants.expire_and_remind")
def expire_and_remind() -> dict:
    """Hourly (Celery beat): expire grants past their date, remind before a grant expires."""
    expired = lifecycle.expire_due()
    reminded = lifecycle.remind_expiring()
    return {"expired": expired, "reminded": reminded}


@shared_task(name="grants.verify", base=JobTask)
def verify_task(grant_ids: list[int] | None = None) -> dict:
    """Verify the given live grants (all live grants when None) acting as each application."""
    grants = list(verification.live_grants())
    if grant_ids is not None:
        grants = [g for g in grants if g.pk in set(grant_ids)]
    job_id = verify_task.request.id or ""
    outcomes = {}
    for done, grant in enumerate(grants, 1):
        check = verification.verify(grant, job_id=job_id)
        outcomes[str(grant.pk)] = check.outcome
        set_progress(job_id, done * 100 // max(len(grants), 1))
    verified = sum(o == "verified" for o in outcomes.values())
    # Whole catalogue entries: stored in English, translated when shown (portal.lib.translate).
    if verified == len(outcomes):
        message = gettext_noop("Every grant checked is verified.")
    else:
        message = gettext_noop("Some grants are not verified: open each grant for its evidence.")
    return {"outcome": "ok" if verified == len(outcomes) else "problems", "message": message,
            "grants": outcomes}  # fmt: skip


def start_verification(grant_ids=None, tenant=None):
    label = (gettext_noop("Verify a grant") if grant_ids and len(grant_ids) == 1
             else gettext_noop("Verify grants"))  # fmt: skip
    return start_job(verify_task, kind="grants.verify", label=label,
                     kwargs={"grant_ids": grant_ids}, tenant=tenant)  # fmt: skip


@shared_task(name="grants.verify_scheduled")
def verify_scheduled() -> dict:
    """Daily (Celery beat): one job that verifies every live grant."""
    try:
        job = start_verification()
    except QueueUnavailable as exc:
        log.warning("scheduled grant verification not started: %s", exc)
        return {"started": False}
    return {"started": True, "job": str(job.pk)}
