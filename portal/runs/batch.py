"""Many runs as one job: never more than CONNECTIVITY_CONCURRENCY probes in flight at once.

"Test everything", a tenant's "Run all tests" and the scheduled runs of each minute all go
through :func:`run_batch`. It is resumable: runs already finished (by an earlier attempt whose
worker died) are counted and kept, and only the others run again.
"""

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

from django.conf import settings
from django.db import connections

from connectivity import fanout
from portal.audit import context
from portal.jobs.api import set_progress
from portal.runs import runner
from portal.runs.models import ProbeRun

log = logging.getLogger(__name__)


def run_batch(runs: list[ProbeRun], after: Callable[[ProbeRun], None] | None = None) -> dict:
    """Execute the unfinished ``runs`` concurrently; returns the count of each status (all runs).

    ``after(run)`` is called for each run this call executed, in the thread that ran it, with the
    job's audit context active (a scheduled run's audit event and status-change mail). The job's
    progress is kept current when there is a job.
    """
    ctx = context.current()
    job_id = ctx.job_id

    def work(run: ProbeRun) -> ProbeRun:
        token = context.activate(ctx)  # threads do not inherit the audit context
        try:
            run = ProbeRun.objects.select_related("tenant").get(pk=run.pk)
            run = runner.execute(run, call=engine.call) if engine else runner.execute(run)
            if after is not None:
                try:
                    after(run)
                except Exception:  # noqa: BLE001 - the run's result stands; the others go on
                    log.exception("run %s: what follows the run failed", run.pk)
            return run
        finally:
            context.deactivate(token)
            connections.close_all()  # this thread's own connections; the pool thread lingers

    counts: dict = {}
    for run in runs:
        if run.is_done:
            counts[run.status] = counts.get(run.status, 0) + 1
    todo = [run for run in runs if not run.is_done]
    done = len(runs) - len(todo)
    # Each thread waits on one run; the probes' CPU goes to the engine's worker processes when
    # the batch is large enough (or a pool is warm), the same bound in flight either way.
    engine = fanout.pool_for(len(todo), settings.CONNECTIVITY_CONCURRENCY)
    with ThreadPoolExecutor(max_workers=settings.CONNECTIVITY_CONCURRENCY) as pool:
        futures = [pool.submit(work, run) for run in todo]
        for future in as_completed(futures):
            status = future.result().status
            counts[status] = counts.get(status, 0) + 1
            done += 1
            if job_id:
                set_progress(job_id, done * 100 // max(len(runs), 1), f"{done}/{len(runs)} done")
    return counts
