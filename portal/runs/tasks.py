from concurrent.futures import ThreadPoolExecutor, as_completed

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import connections, transaction
from django.utils import timezone, translation

from connectivity import fanout
from portal.audit import context
from portal.audit.api import record
from portal.jobs.api import QueueUnavailable, set_progress, start_job
from portal.jobs.execution import JobTask
from portal.lib.crypto import decrypt
from portal.runs import runner
from portal.runs.jobkinds import counts_in_words, outcome_of
from portal.runs.models import TENANT_PROBES, ProbeRun, RunStatus, Schedule
from portal.tenants.models import Tenant


@shared_task(name="runs.run_probe", base=JobTask)
def run_probe_task(run_id: int, sealed_password: str | None = None) -> dict:
    run = ProbeRun.objects.select_related("tenant").get(pk=run_id)
    run = runner.execute(run, decrypt(sealed_password) if sealed_password else None)
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
    with translation.override("en"):  # stored in English, translated when shown
        message = f"{run.get_probe_display()}: {run.get_status_display()}"
    return {"run": run.pk, "status": run.status, "outcome": outcome_of([run.status]),
            "message": message}  # fmt: skip


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
    send_mail(subject, body, None, schedule.notify_emails, fail_silently=False)
    record(
        "connectivity.notify",
        target=schedule,
        tenant=run.tenant,
        after={"from": previous, "to": run.status, "recipients": schedule.notify_emails},
    )


@shared_task(name="runs.dispatch_due")
def dispatch_due_schedules() -> dict:
    """Start a run for every enabled schedule that is due (Celery beat calls this every minute).

    Each run is a job of its own, so a scheduled run whose worker dies is re-driven like any other.
    """
    now = timezone.now()
    started = []
    with transaction.atomic():
        due = list(
            Schedule.objects.select_for_update(skip_locked=True)
            .filter(enabled=True, next_due__lte=now)
            .select_related("tenant")
        )
        for schedule in due:
            run = ProbeRun.objects.create(
                tenant=schedule.tenant, probe=schedule.probe, schedule=schedule
            )
            schedule.next_due = now + timezone.timedelta(minutes=schedule.interval_minutes)
            schedule.save(update_fields=["next_due"])
            started.append(run)
    failed = 0
    for run in started:
        try:
            start_run_job(run)
        except QueueUnavailable:
            failed += 1  # the run and its job now say why; the next minute tries the next due
    return {"started": len(started) - failed, "not_started": failed}


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

    def work(run):
        token = context.activate(ctx)  # threads do not inherit the audit context
        try:
            run = ProbeRun.objects.select_related("tenant").get(pk=run.pk)
            return runner.execute(run, call=engine.call) if engine else runner.execute(run)
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
