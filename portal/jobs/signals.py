"""Worker-side bookkeeping from Celery's signals: who received a job, lost children, start-up."""

import logging
import threading

from celery.exceptions import TimeLimitExceeded, WorkerLostError
from celery.signals import task_failure, task_received, worker_ready
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.jobs.models import Job

log = logging.getLogger(__name__)


@task_received.connect
def _received(request=None, **kwargs):
    # From here until the executor claims it, the message exists only in this worker (the
    # file-system transport has already deleted it): note who holds it so the reaper can tell
    # when that worker dies.
    if request is None or not request.id:
        return
    try:
        Job.objects.filter(pk=request.id, status=Job.Status.QUEUED).update(
            worker=(request.hostname or "")[:200], heartbeat_at=timezone.now()
        )
    except Exception:  # noqa: BLE001 - a message that is not a job (or a bad id) is not ours
        log.debug("received %s: no job row updated", request.id, exc_info=True)


@task_failure.connect
def _lost(task_id=None, exception=None, **kwargs):
    """A pool child died (or was killed at the time limit): its executor cannot end the job."""
    if not task_id or not isinstance(exception, WorkerLostError | TimeLimitExceeded):
        return
    from portal.jobs.reaper import recover

    job = Job.objects.filter(pk=task_id, status__in=Job.ACTIVE).first()
    if job is None:
        return
    if isinstance(exception, TimeLimitExceeded):
        job.task_name = ""  # a job that ran out of time would run out of time again
        reason = _("The job was stopped at the time limit (CELERY_TASK_TIME_LIMIT).")
    else:
        reason = _("The worker process running this job ended unexpectedly.")
    recover(job, reason)


@worker_ready.connect
def _reap_at_start(**kwargs):
    """A worker that starts (perhaps after a crash) looks for jobs orphaned meanwhile."""

    def run():
        from portal.jobs.reaper import reap_stale

        try:
            reap_stale()
        except Exception:  # noqa: BLE001 - the beat task tries again within a minute
            log.exception("start-up check for stale jobs failed")
        finally:
            connection.close()

    threading.Thread(target=run, name="reap-stale-at-start", daemon=True).start()
