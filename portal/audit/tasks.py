import logging

from celery import shared_task

from portal.audit.api import record

log = logging.getLogger(__name__)


@shared_task(name="audit.verify_chain")
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
    return outcome


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
