"""Keep Job rows current from Celery's own task signals."""

from celery.signals import task_failure, task_prerun, task_success
from django.utils import timezone

from portal.jobs.models import Job


def _update(task_id, **fields):
    if task_id:
        Job.objects.filter(pk=task_id).update(**fields)


@task_prerun.connect
def _started(task_id=None, **kwargs):
    _update(task_id, status=Job.Status.RUNNING, started_at=timezone.now())


@task_success.connect
def _succeeded(sender=None, result=None, **kwargs):
    task_id = sender.request.id if sender is not None else None
    payload = result if isinstance(result, dict | list) else None
    _update(
        task_id,
        status=Job.Status.SUCCEEDED,
        progress=100,
        finished_at=timezone.now(),
        result=payload,
    )


@task_failure.connect
def _failed(task_id=None, exception=None, **kwargs):
    _update(
        task_id,
        status=Job.Status.FAILED,
        finished_at=timezone.now(),
        message=f"{type(exception).__name__}: {exception}"[:400],
    )
