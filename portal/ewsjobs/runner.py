"""The threads that do an EWS job's chunks, in whichever worker process received a runner.

Each thread has its own engine Session (its own exchangelib accounts and connection pool —
exchangelib 5.6 can deadlock when threads share an account whose pool shrinks under
ErrorServerBusy). A thread claims a chunk with a lease, takes a slot of the application's
budget for the Exchange call only, records the outcome, and goes on until no chunk is left.
Exchange's BackOffMilliseconds puts the chunk back with a not-before time instead of sleeping
on it, so no task outlives its time limit: a runner near its deadline hands over to a new one.
"""

import datetime as dt
import logging
import os
import random
import socket
import threading
import time

from django.conf import settings
from django.db import connection
from django.db.models import F, Min, Q
from django.utils import timezone

from connectivity import ewsjobs as engine
from portal.ewsjobs import budget, finish, work
from portal.ewsjobs.access import access_for
from portal.ewsjobs.models import Chunk, EwsJob
from portal.jobs.models import Job

log = logging.getLogger(__name__)
TRANSIENT_WAIT_S = 15


def holder_name(thread: int) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{thread}"


def claim(ewsjob_id, holder: str) -> Chunk | None:
    now = timezone.now()
    lease = now + dt.timedelta(seconds=settings.EWS_JOB_LEASE_SECONDS)
    ready = Q(status=Chunk.Status.PENDING) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    orphaned = Q(status=Chunk.Status.RUNNING, lease_until__lt=now)
    candidates = list(Chunk.objects.filter(ready | orphaned, ewsjob_id=ewsjob_id)
                      .order_by("index", "target_id").values_list("pk", flat=True)[:8])  # fmt: skip
    random.shuffle(candidates)  # threads starting together would race for the same row
    for pk in candidates:
        taken = Chunk.objects.filter(ready | orphaned, pk=pk).update(
            status=Chunk.Status.RUNNING, holder=holder[:200], lease_until=lease,
            attempts=F("attempts") + 1,
        )  # fmt: skip
        if taken:
            return Chunk.objects.select_related("target").get(pk=pk)
    return None


def _wait_hint(ewsjob_id) -> float | None:
    """Seconds until another chunk may be claimable; None when nothing is left to wait for."""
    now = timezone.now()
    left = Chunk.objects.filter(ewsjob_id=ewsjob_id, status__in=finish.OPEN)
    nearest = left.aggregate(nb=Min("not_before"), lease=Min("lease_until"))
    if not left.exists():
        return None
    times = [t for t in (nearest["nb"], nearest["lease"]) if t is not None]
    if not times:
        return 0.2
    return max(0.05, min(1.0, (min(times) - now).total_seconds()))


class Runner:
    def __init__(self, ewsjob_id, deadline: float):
        self.ewsjob_id, self.deadline = ewsjob_id, deadline
        self.stop = threading.Event()

    def run(self, threads: int) -> None:
        jobs = EwsJob.objects.select_related("grant__application", "tenant")
        ewsjob = jobs.get(pk=self.ewsjob_id)
        self.access = access_for(ewsjob)
        self.key = budget.budget_key(ewsjob)
        self.limit = settings.EWS_MAX_CONCURRENCY
        budget.ensure(self.key, self.limit)
        pool = [threading.Thread(target=self._thread, args=(ewsjob, i), daemon=True,
                                 name=f"ews-job-{i}") for i in range(threads)]  # fmt: skip
        beat = threading.Thread(target=self._heartbeat, daemon=True)
        beat.start()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        self.stop.set()
        beat.join(timeout=5)

    def _heartbeat(self):
        # Keeps the Job alive for the reaper while any runner works (the starting task has
        # returned); a runner that dies stops beating, and the reaper re-drives the job.
        try:
            while not self.stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                Job.objects.filter(pk=self.ewsjob_id, status=Job.Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connection.close()

    def _thread(self, ewsjob: EwsJob, n: int) -> None:
        holder = holder_name(n)
        session = engine.Session(self.access)
        try:
            while time.monotonic() < self.deadline:
                if finish.cancel_requested(ewsjob.pk):
                    finish.cancel_pending(ewsjob.pk)
                    break
                chunk = claim(ewsjob.pk, holder)
                if chunk is None:
                    wait = _wait_hint(ewsjob.pk)
                    if wait is None:
                        break
                    time.sleep(min(wait, max(0.0, self.deadline - time.monotonic())))
                    continue
                self._do(ewsjob, chunk, session, holder)
        except Exception:  # noqa: BLE001 - a broken thread must not take the others down
            log.exception("EWS job %s: runner thread %s stopped", ewsjob.pk, n)
        finally:
            session.close()
            try:
                finish.maybe_finish(ewsjob.pk)
            finally:
                connection.close()

    def _do(self, ewsjob, chunk, session, holder):
        slot = None
        while slot is None:
            slot = budget.acquire(self.key, self.limit, holder)
            if slot is None:
                if time.monotonic() > self.deadline:
                    work.give_back(chunk)
                    return
                time.sleep(random.uniform(0.02, 0.1))
        started = time.monotonic()
        try:
            outcome = work.execute(ewsjob, chunk, session)
        except engine.Busy as busy:
            budget.release(slot, holder)
            work.back_off(chunk, busy.back_off_s)
            return
        except engine.MailboxError as exc:
            budget.release(slot, holder)
            if exc.transient and chunk.attempts < work.MAX_CHUNK_ATTEMPTS:
                # A mailbox being moved, a database failing over: Exchange says try later.
                work.back_off(chunk, TRANSIENT_WAIT_S * chunk.attempts)
            else:
                work.mailbox_failed(ewsjob, chunk, exc.words)  # a Msg: stored translatable
            return
        except Exception as exc:  # noqa: BLE001 - recorded on the chunk in words
            budget.release(slot, holder)
            log.warning("EWS job %s chunk %s: %r", ewsjob.pk, chunk.pk, exc)
            work.chunk_error(ewsjob, chunk, engine.explain(exc))
            return
        budget.release(slot, holder)
        work.record(ewsjob, chunk, outcome, int((time.monotonic() - started) * 1000))
