"""Run a job's task at most once at a time, whatever the broker delivers.

``JobTask`` is the base class of every task that has a Job row. Before the task body runs, the
executor claims the row (queued → running, one conditional UPDATE): a second delivery of the
same message — Redis or RabbitMQ redelivering after a lost worker, or a job the reaper already
sent again — finds the row taken or finished and does nothing. While the body runs, a thread
refreshes ``heartbeat_at``; if the reaper has meanwhile given the job to another attempt, the
lease is marked lost and the old attempt's result is discarded.
"""

import contextvars
import logging
import threading

from celery import Task
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from portal.jobs.models import Job

log = logging.getLogger(__name__)

OUTCOME_STATUS = {
    "ok": Job.Status.SUCCEEDED,
    "warn": Job.Status.WARNING,
    "problems": Job.Status.PROBLEMS,
}


# Returned by a task whose work goes on in other tasks (a fanned-out EWS job): the row stays
# "running" and whoever finishes the last piece ends it (their updates keep its heartbeat).
DEFERRED = {"deferred": True}


class Lease:
    """The running attempt's hold on its job; long jobs check ``lost`` between chunks."""

    def __init__(self, job_id: str, attempt: int):
        self.job_id, self.attempt = job_id, attempt
        self.lost = threading.Event()

    def rows(self):
        return Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING, attempts=self.attempt)


_lease: contextvars.ContextVar[Lease | None] = contextvars.ContextVar("job_lease", default=None)


def current_lease() -> Lease | None:
    return _lease.get()


def claim(job_id: str, worker: str) -> Lease | None:
    now = timezone.now()
    taken = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, worker=worker[:200], heartbeat_at=now, started_at=now,
        attempts=F("attempts") + 1,
    )  # fmt: skip
    if not taken:
        return None
    attempt = Job.objects.filter(pk=job_id).values_list("attempts", flat=True).first()
    return Lease(job_id, attempt)


class _Heartbeat(threading.Thread):
    def __init__(self, lease: Lease):
        super().__init__(name=f"job-heartbeat-{lease.job_id}", daemon=True)
        self.lease = lease
        self.stopped = threading.Event()

    def run(self):
        interval = settings.JOB_HEARTBEAT_SECONDS
        while not self.stopped.wait(interval):
            try:
                if not self.lease.rows().update(heartbeat_at=timezone.now()):
                    self.lease.lost.set()
                    return
            except Exception:  # noqa: BLE001 - a missed beat is retried; the reaper allows slack
                log.exception("job %s: heartbeat not written", self.lease.job_id)
            finally:
                connection.close()  # this thread's own connection


def _finish(lease: Lease, result) -> None:
    outcome = result.get("outcome", "ok") if isinstance(result, dict) else "ok"
    fields = {
        "status": OUTCOME_STATUS.get(outcome, Job.Status.SUCCEEDED),
        "progress": 100,
        "finished_at": timezone.now(),
        "heartbeat_at": None,
        "result": result if isinstance(result, dict | list) else None,
    }
    if isinstance(result, dict) and result.get("message"):
        fields["message"] = str(result["message"])[:400]
    if not lease.rows().update(**fields):
        log.warning("job %s: attempt %s lost its lease; result discarded", lease.job_id,
                    lease.attempt)  # fmt: skip


def _fail(lease: Lease, exc: BaseException) -> None:
    # The person sees words and where to look; the traceback goes to the worker's log. English
    # on the row, translated when shown (portal.lib.translate).
    message = gettext_noop(
        "The job stopped because of an internal error (%(kind)s). Nothing more was done. "
        "What to do: start it again; if it fails again, the worker's log has the details "
        "for job %(job)s."
    ) % {"kind": type(exc).__name__, "job": lease.job_id}
    lease.rows().update(
        status=Job.Status.FAILED, finished_at=timezone.now(), heartbeat_at=None, message=message
    )


class JobTask(Task):
    """Base class for tasks started through ``portal.jobs.api.start_job``."""

    def __call__(self, *args, **kwargs):
        job_id = self.request.id
        lease = claim(job_id, self.request.hostname or "in-process") if job_id else None
        if lease is None:
            if not job_id or not Job.objects.filter(pk=job_id).exists():
                # Sent without a Job row (a beat entry, a direct call): nothing to track.
                return super().__call__(*args, **kwargs)
            log.info("job %s is taken or finished already: this delivery is skipped", job_id)
            return {"skipped": True}
        beat = _Heartbeat(lease)
        beat.start()
        token = _lease.set(lease)
        try:
            result = super().__call__(*args, **kwargs)
        except Exception as exc:
            log.exception("job %s failed", job_id)
            _fail(lease, exc)
            raise
        finally:
            _lease.reset(token)
            beat.stopped.set()
            beat.join(timeout=5)
        if result != DEFERRED:
            _finish(lease, result)
        return result
