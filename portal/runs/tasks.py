from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation

from portal.audit import context
from portal.audit.api import record
from portal.audit.models import AuditEvent
from portal.jobs.api import QueueUnavailable, start_job
from portal.jobs.execution import JobTask
from portal.jobs.models import Job
from portal.lib.crypto import decrypt
from portal.runs import runner
from portal.runs.batch import run_batch
from portal.runs.jobkinds import SCHEDULED_LABEL, counts_in_words, outcome_of
from portal.runs.models import TENANT_PROBES, ProbeRun, RunStatus, Schedule
from portal.tenants.models import Tenant


@shared_task(name="runs.run_probe", base=JobTask)
def run_probe_task(run_id: int, sealed_password: str | None = None) -> dict:
    run = ProbeRun.objects.select_related("tenant").get(pk=run_id)
    run = runner.execute(run, decrypt(sealed_password) if sealed_password else None)
    _after_run(run)
    with translation.override("en"):  # stored in English, translated when shown
        message = f"{run.get_probe_display()}: {run.get_status_display()}"
    return {"run": run.pk, "status": run.status, "outcome": outcome_of([run.status]),
            "message": message}  # fmt: skip


def _after_run(run: ProbeRun) -> None:
    """What every run records when it ends: its outcome; a scheduled run mails a change."""
    passed = run.status in {RunStatus.PASS, RunStatus.WARN}
    record(
        "connectivity.run",
        target=run,
        tenant=run.tenant,
        after={"probe": run.probe, "target": run.target, "status": run.status},
        result="success" if passed else "failure",
    )
    if run.schedule_id:
        _notify_on_change(run)


def _notify_on_change(run: ProbeRun) -> None:
    with transaction.atomic():
        schedule = Schedule.objects.select_for_update().get(pk=run.schedule_id)
        previous = schedule.last_status
        schedule.last_status = run.status
        schedule.save(update_fields=["last_status"])
    if not previous or previous == run.status or not schedule.notify_emails:
        return
    url = f"{settings.SITE_URL.rstrip('/')}/connectivity/runs/{run.pk}/"
    subject = f"[{run.tenant}] {run.get_probe_display()}: {previous} → {run.status}"
    failed = [s for s in run.steps if s.get("status") == "fail"]
    lines = [f"{s['name']}: {s['detail']}\n  {s.get('hint', '')}" for s in failed]
    body = "\n".join([subject, "", *lines, "", url])
    after = {"from": previous, "to": run.status, "recipients": schedule.notify_emails}
    try:
        send_mail(subject, body, None, schedule.notify_emails, fail_silently=False)
    except Exception as exc:
        # On record, not only in the worker's log: the change was seen, the mail did not go.
        error = f"{type(exc).__name__}: {exc}"[:300]
        record("connectivity.notify", target=schedule, tenant=run.tenant,
               after={**after, "error": error}, result="failure")  # fmt: skip
        raise
    record("connectivity.notify", target=schedule, tenant=run.tenant, after=after)


@shared_task(name="runs.dispatch_due")
def dispatch_due_schedules() -> dict:
    """Start the runs of every enabled schedule that is due (Celery beat calls this every minute).

    They are one job (``runs.run_scheduled``), bounded by CONNECTIVITY_CONCURRENCY like "Test
    everything" and re-driven like any job whose worker dies. Returns how many runs were handed
    to the queue and how many were not (those runs and their job say why).
    """
    now = timezone.now()
    with transaction.atomic():
        due = list(
            Schedule.objects.select_for_update(skip_locked=True)
            .filter(enabled=True, next_due__lte=now)
            .select_related("tenant")
        )
        if not due:
            return {"started": 0, "not_started": 0}
        runs = []
        for schedule in due:
            run = ProbeRun.objects.create(
                tenant=schedule.tenant, probe=schedule.probe, schedule=schedule
            )
            runs.append(run)
            schedule.next_due = now + timezone.timedelta(minutes=schedule.interval_minutes)
            schedule.save(update_fields=["next_due"])
        tenants = {schedule.tenant for schedule in due}
        # Inside the transaction the message goes on commit, when the runs point at their job;
        # a queue that refuses it fails the job and closes its runs with the reason.
        job = start_job(
            run_scheduled_task, kind="connectivity.scheduled",
            label=SCHEDULED_LABEL % {"count": len(runs)},
            kwargs={"run_ids": [run.pk for run in runs]},
            tenant=tenants.pop() if len(tenants) == 1 else None,
        )  # fmt: skip
        ProbeRun.objects.filter(pk__in=[run.pk for run in runs]).update(job=job)
    if Job.objects.filter(pk=job.pk, status=Job.Status.FAILED, attempts=0).exists():
        return {"started": 0, "not_started": len(runs)}
    return {"started": len(runs), "not_started": 0}


@shared_task(name="runs.run_scheduled", base=JobTask)
def run_scheduled_task(run_ids: list[int]) -> dict:
    """The due scheduled runs of one minute, concurrently within the configured bound.

    Resumable: sent again after its worker died, it keeps the runs already finished and runs the
    others again. Each run has its own audit event and status-change mail, as on its own.
    """
    runs = list(ProbeRun.objects.filter(pk__in=run_ids).order_by("id"))
    _record_unrecorded(runs)
    counts = run_batch(runs, after=_after_run)
    with translation.override("en"):  # stored in English, translated when shown
        message = counts_in_words(counts)
    return {"runs": len(runs), "statuses": counts, "outcome": outcome_of(counts),
            "message": message}  # fmt: skip


def _record_unrecorded(runs: list[ProbeRun]) -> None:
    """A worker that died between finishing a run and recording it left a run that is done but
    has no audit event (nor its status-change mail): the job sent again records it now."""
    done = {str(run.pk): run for run in runs if run.is_done}
    if not done:
        return
    recorded = set(
        AuditEvent.objects.filter(
            action="connectivity.run", target_type=ProbeRun._meta.label_lower,
            target_id__in=list(done),
        ).values_list("target_id", flat=True)
    )  # fmt: skip
    for pk, run in done.items():
        if pk not in recorded:
            _after_run(ProbeRun.objects.select_related("tenant").get(pk=run.pk))


def _english_label(run: ProbeRun) -> str:
    """Labels are stored in English and shown in the reader's language (portal.lib.translate)."""
    with translation.override("en"):
        return f"{run.get_probe_display()} · {run.tenant or run.params.get('host', '')}"


def start_run_job(run: ProbeRun, sealed_password: str | None = None):
    """One run as one job; the run points at its job. Raises QueueUnavailable (run closed)."""
    try:
        job = start_job(
            run_probe_task, kind="connectivity.run", label=_english_label(run),
            kwargs={"run_id": run.pk, "sealed_password": sealed_password}, tenant=run.tenant,
        )  # fmt: skip
    except QueueUnavailable as exc:
        ProbeRun.objects.filter(pk=run.pk).update(job=exc.job)
        raise
    ProbeRun.objects.filter(pk=run.pk).update(job=job)
    return job


@shared_task(name="runs.run_everything", base=JobTask)
def run_everything_task(tenant_ids: list[int] | None = None) -> dict:
    """Every probe for every tenant, concurrently, never more than the configured bound at once.

    Resumable: when the job is sent again after its worker died, the runs it already created
    are reused and only those not finished run again.
    """
    ctx = context.current()
    job_id = ctx.job_id
    runs = list(ProbeRun.objects.filter(job_id=job_id)) if job_id else []
    if not runs:
        tenants = Tenant.objects.all()
        if tenant_ids:
            tenants = tenants.filter(pk__in=tenant_ids)
        runs = [
            ProbeRun.objects.create(tenant=tenant, probe=probe, started_by_id=ctx.actor_id,
                                    job_id=job_id or None)
            for tenant in tenants
            for probe in TENANT_PROBES
        ]  # fmt: skip
    counts = run_batch(runs)
    outcome = outcome_of(counts)
    record(
        "connectivity.run_everything",
        target={"type": "runs.batch", "id": job_id, "label": f"{len(runs)} runs"},
        after={"runs": len(runs), "statuses": counts},
        result="success" if outcome != "problems" else "failure",
    )
    with translation.override("en"):  # stored in English, translated when shown
        message = counts_in_words(counts)
    return {"runs": len(runs), "statuses": counts, "outcome": outcome, "message": message}
