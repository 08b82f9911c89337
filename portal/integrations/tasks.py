from celery import shared_task
from django.utils.translation import gettext_noop

from portal.audit import context
from portal.integrations import service
from portal.integrations.models import Integration
from portal.integrations.models import Status as Light
from portal.jobs.api import QueueUnavailable, start_job
from portal.jobs.execution import JobTask


@shared_task(name="integrations.check", base=JobTask)
def check_task(integration_ids: list[int]) -> dict:
    counts: dict = {}
    for integration in Integration.objects.filter(pk__in=integration_ids).select_related("tenant"):
        for outcome in service.run_checks(integration, job_id=context.current().job_id or None):
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
    outcome = ("problems" if counts.get(Light.RED) else "warn" if counts.get(Light.AMBER)
               else "ok")  # fmt: skip
    # Stored in English as a catalogue sentence; the job page counts the results in the
    # reader's language (jobkinds.describe).
    message = gettext_noop("Integration checks finished.")
    return {"outcome": outcome, "message": message, "statuses": counts}


def start_check(integrations, tenant=None):
    """One job checking ``integrations``; raises QueueUnavailable (shown by the caller)."""
    ids = [i.pk for i in integrations]
    # A catalogue sentence, stored in English and translated when shown; the integrations
    # the job checked are listed on its page.
    label = (gettext_noop("Integration check") if len(ids) == 1
             else gettext_noop("Integration checks"))  # fmt: skip
    return start_job(check_task, kind="integrations.check", label=label,
                     kwargs={"integration_ids": ids}, tenant=tenant)  # fmt: skip


@shared_task(name="integrations.check_scheduled")
def check_scheduled() -> dict:
    """Beat: check every integration (one job), so the timeline and emails stay current."""
    integrations = list(Integration.objects.select_related("tenant").order_by("pk"))
    if not integrations:
        return {"started": 0}
    try:
        start_check(integrations)
    except QueueUnavailable:
        return {"started": 0}  # the job row says why
    return {"started": len(integrations)}
