from celery import shared_task

from portal.jobs.reaper import reap_stale, resend_unclaimed


@shared_task(name="jobs.reap_stale")
def reap_stale_task() -> dict:
    """Beat job: re-drive or fail jobs whose worker stopped answering, and send again the
    messages of queued jobs that no worker received (a broker that lost them)."""
    return {**reap_stale(), "resent": resend_unclaimed()}
