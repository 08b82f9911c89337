from celery import shared_task

from portal.jobs.reaper import reap_stale


@shared_task(name="jobs.reap_stale")
def reap_stale_task() -> dict:
    """Beat job: re-drive or fail jobs whose worker stopped answering."""
    return reap_stale()
