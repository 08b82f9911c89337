"""Celery tasks of the EWS jobs: the job itself (plans, fans out, works) and extra runners.

``run_job`` is a JobTask: it claims the Job row, cuts the work into chunks, sends runners to
other worker processes, and works chunks itself. It returns DEFERRED, so the row stays running
until the last chunk is recorded (by whichever thread records it). ``run_chunks`` is a runner:
late acknowledgement and reject-on-worker-lost, so a broker that supports it gives the message
to another worker when this one dies; on the file-system broker, which deletes a message on
receipt, the reaper re-drives the job from its row and the chunks' leases hand the dead
holder's chunks to the next thread.
"""

import time

from celery import shared_task
from django.conf import settings

from portal.ewsjobs import finish, plan
from portal.ewsjobs.models import EwsJob
from portal.jobs.execution import DEFERRED, JobTask
from portal.jobs.models import Job

# Leave the runner this much before Celery's hard time limit to record and hand over.
MARGIN_S = 60


def _deadline() -> float:
    budget = max(30, min(settings.EWS_JOB_RUN_SECONDS, settings.CELERY_TASK_TIME_LIMIT - MARGIN_S))
    return time.monotonic() + budget


def _work(ewsjob_id) -> None:
    from portal.ewsjobs.runner import Runner  # the engine loads only in workers that need it

    Runner(ewsjob_id, _deadline()).run(settings.EWS_JOB_THREADS)
    # Still work left (a deadline, chunks waiting out a back-off): hand over to a fresh runner.
    if not finish.maybe_finish(ewsjob_id) and Job.objects.filter(
        pk=ewsjob_id, status=Job.Status.RUNNING
    ).exists() and plan.open_chunks(ewsjob_id):  # fmt: skip
        run_chunks.delay(str(ewsjob_id))


@shared_task(name="ewsjobs.run", base=JobTask, acks_late=True, reject_on_worker_lost=True)
def run_job() -> dict:
    ewsjob_id = run_job.request.id
    ewsjob = EwsJob.objects.filter(pk=ewsjob_id).first()
    if ewsjob is None:  # a message outliving its job (deleted with its tenant): nothing to do
        return {"skipped": True}
    plan.plan(ewsjob)
    for _ in range(max(0, settings.EWS_JOB_RUNNERS - 1)):
        run_chunks.delay(str(ewsjob_id))
    _work(ewsjob_id)
    return DEFERRED


@shared_task(name="ewsjobs.run_chunks", acks_late=True, reject_on_worker_lost=True)
def run_chunks(ewsjob_id: str) -> None:
    if not Job.objects.filter(pk=ewsjob_id, status=Job.Status.RUNNING).exists():
        return
    _work(ewsjob_id)
