from celery import shared_task

from portal.grants import lifecycle


@shared_task(name="grants.expire_and_remind")
def expire_and_remind() -> dict:
    """Hourly (Celery beat): expire grants past their date, remind before a grant expires."""
    expired = lifecycle.expire_due()
    reminded = lifecycle.remind_expiring()
    return {"expired": expired, "reminded": reminded}
