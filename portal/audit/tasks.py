import logging

from celery import shared_task
from django.utils.translation import gettext as _

from portal.audit.api import record
from portal.jobs.execution import JobTask

log = logging.getLogger(__name__)


@shared_task(name="audit.verify_chain", base=JobTask)
def verify_chain_task() -> dict:
    """Verify the chain, its checkpoints and the triggers; record the outcome; on a failure
    the Admins see a banner and get an email (once per new finding)."""
    from portal.audit import alerts
    from portal.audit.verify import full_check

    previous = alerts.latest_verification()
    outcome = full_check()
    record(
        "audit.verify",
        target={"type": "audit.chain", "id": "", "label": "audit chain"},
        after=outcome,
        result="success" if outcome["intact"] else "failure",
    )
    if not outcome["intact"]:
        log.error("audit verification failed: %s %s", outcome["first_bad"], outcome["reason"])
        alerts.notify_admins(outcome, previous)
    # The job page reads "outcome"/"message"; the event above keeps the check's own fields.
    return {**outcome, "outcome": "ok" if outcome["intact"] else "problems",
            "message": verification_in_words(outcome)}  # fmt: skip


def verification_in_words(outcome: dict) -> str:
    if outcome.get("intact"):
        return _("The audit chain is intact: %(n)s events checked.") % {"n": outcome["checked"]}
    problems = [outcome.get("first_bad") or "", outcome.get("reason") or ""]
    problems += outcome.get("guard_problems") or []
    return _("The audit chain is broken: %(problems)s. Keep a copy of the database and of the "
             "checkpoint files and run `manage.py audit_verify` for details.") % {
        "problems": "; ".join(p for p in problems if p)}  # fmt: skip


@shared_task(name="audit.write_checkpoint")
def write_checkpoint_task() -> dict:
    """Beat job: append a signed checkpoint of the chain head outside the database."""
    from portal.audit import checkpoints

    written = checkpoints.write()
    for error in written["errors"]:
        log.error("audit checkpoint #%s: %s", written["seq"], error)
    return written


@shared_task(name="audit.purge_expired")
def purge_expired_task() -> dict:
    """Beat job: export, then purge, events older than AUDIT_RETENTION_DAYS (0 = never)."""
    from portal.audit.retention import purge_expired

    return purge_expired()
