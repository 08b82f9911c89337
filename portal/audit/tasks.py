from celery import shared_task

from portal.audit.api import record, verify_chain


@shared_task(name="audit.verify_chain")
def verify_chain_task() -> dict:
    """Verify the hash chain in the background and record the outcome."""
    checked, bad, reason = verify_chain()
    outcome = {
        "checked": checked,
        "intact": bad is None,
        "first_bad_seq": bad.seq if bad is not None else None,
        "reason": reason,
    }
    record(
        "audit.verify",
        target={"type": "audit.chain", "id": "", "label": "audit chain"},
        after=outcome,
        result="success" if bad is None else "error",
    )
    return outcome


@shared_task(name="audit.purge_expired")
def purge_expired_task() -> dict:
    """Beat job: export, then purge, events older than AUDIT_RETENTION_DAYS (0 = never)."""
    from portal.audit.retention import purge_expired

    return purge_expired()
