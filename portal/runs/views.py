from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.audit.api import record, snapshot
from portal.jobs.api import QueueUnavailable, start_job
from portal.lib.access import Role, get_object_for_user, requires
from portal.lib.crypto import encrypt
from portal.lib.htmx import render
from portal.lib.paging import paginate
from portal.lib.validators import validate_single_line
from portal.runs import present
from portal.runs.forms import AdhocForm, ScheduleForm
from portal.runs.models import TENANT_PROBES, Probe, ProbeRun, RunStatus, Schedule
from portal.runs.overview import CELL_COLUMNS, grid_rows, latest_runs, schedule_lines
from portal.runs.tasks import run_everything_task, start_run_job
from portal.runs.timeline import timeline
from portal.tenants.models import Tenant

HISTORY_SIZE = 100
CERT_WARN_DAYS = 30
OVERVIEW_TENANTS = 25
TILE_ROWS = 6  # lines a dashboard tile lists; its figure counts them all
FAILING = (RunStatus.FAIL, RunStatus.ERROR)


def _start_run(request, run: ProbeRun, sealed_password=None):
    try:
        start_run_job(run, sealed_password)
    except QueueUnavailable as exc:
        # The run page now shows why it did not start; nothing stays queued.
        messages.error(request, str(exc))
    # The job's kwargs hold only the sealed (encrypted) password, and audit censors it anyway.
    return redirect("connectivity:run", run_id=run.pk)


@requires()
@require_GET
def overview(request):
    # The grid, a page of tenants at a time; the schedules listed are those of the same tenants.
    page = paginate(request, Tenant.objects.only("name"), per_page=OVERVIEW_TENANTS)
    shown = Tenant.objects.filter(pk__in=[t.pk for t in page])
    rows = grid_rows(page, latest_runs(shown))
    recent = ProbeRun.objects.select_related("tenant").only(
        "probe", "status", "target", "created_at", "tenant__name"
    )[:20]
    schedules = schedule_lines(
        Schedule.objects.filter(tenant__in=shown)
        .select_related("tenant")
        .only("tenant__name", "probe", "interval_minutes", "enabled")
    )
    return render(request, "runs/overview.html", {
        "rows": rows, "probes": TENANT_PROBES, "recent": recent, "schedules": schedules,
        "page": page,
    })  # fmt: skip


@requires()
@require_GET
def tiles(request):
    """Dashboard tiles: failing tests and certificates close to expiry, among the newest runs.

    Only the newest runs that fail or hold a certificate close to expiry are read (one query);
    how many there are is counted from them, and the tiles list the first few.
    """
    alerts = list(
        latest_runs(Tenant.objects.all())
        .filter(Q(status__in=FAILING) | Q(cert_days_left__lt=CERT_WARN_DAYS))
        .select_related("tenant")
        .only(*CELL_COLUMNS, "tenant__name")
    )
    failing = [r for r in alerts if r.status in FAILING]
    expiring = sorted(
        (r for r in alerts if r.cert_days_left is not None and r.cert_days_left < CERT_WARN_DAYS),
        key=lambda r: r.cert_days_left,
    )
    return render(request, "runs/tiles.html", {
        "failing": failing[:TILE_ROWS], "failing_count": len(failing),
        "expiring": expiring[:TILE_ROWS], "expiring_count": len(expiring),
        "has_runs": ProbeRun.objects.filter(tenant__isnull=False).exists(),
        "has_tenants": Tenant.objects.exists(),
        "cert_warn_days": CERT_WARN_DAYS,
    })  # fmt: skip


@requires()
@require_GET
def tenant_panel(request, pk):
    tenant = get_object_for_user(Tenant.objects.all(), request.user, pk=pk)
    grid = {r.probe: r for r in latest_runs(Tenant.objects.filter(pk=tenant.pk))}
    schedules = {s.probe: s for s in tenant.schedules.all()}
    rows = [{"probe": p, "last": grid.get(p.value), "schedule": schedules.get(p.value)}
            for p in TENANT_PROBES]  # fmt: skip
    return render(request, "runs/tenant_panel.html", {
        "tenant": tenant, "rows": rows, "schedule_form": ScheduleForm(),
    })  # fmt: skip


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_POST
def run_tenant_probe(request, pk):
    tenant = get_object_for_user(Tenant.objects.all(), request.user, Role.OPERATOR, pk=pk)
    probe = request.POST.get("probe", "")
    if probe not in {p.value for p in TENANT_PROBES}:
        messages.error(request, _("Choose one of the listed tests."))
        return redirect("tenants:detail", pk=tenant.pk)
    run = ProbeRun.objects.create(tenant=tenant, probe=probe, started_by=request.user)
    return _start_run(request, run)


@requires()
@require_GET
def run_detail(request, run_id):
    run = get_object_for_user(
        ProbeRun.objects.select_related("tenant", "started_by", "schedule"), request.user,
        pk=run_id,
    )  # fmt: skip
    return render(request, "runs/run.html", {
        "run": run, "params": present.param_rows(run), "running_step": present.running_step(run),
        "needs_password": present.needs_password(run),
    }, partial="live")  # fmt: skip


@requires()
@require_GET
def run_ticket(request, run_id):
    """The run as plain text to paste into a ticket (the run page loads it when asked)."""
    run = get_object_for_user(
        ProbeRun.objects.select_related("tenant", "started_by"), request.user, pk=run_id
    )
    return render(request, "runs/ticket.html", {"run": run, "ticket_text": present.as_text(run)},
                  partial="ticket")  # fmt: skip


@requires()
@require_GET
def run_download(request, run_id):
    run = get_object_for_user(
        ProbeRun.objects.select_related("tenant", "started_by"), request.user, pk=run_id
    )
    response = JsonResponse(present.as_json(run), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-{run.probe}.json"'
    return response


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_POST
def run_again(request, run_id):
    """The same test for the same tenant (or host) once more, as a new run."""
    run = get_object_for_user(
        ProbeRun.objects.select_related("tenant", "job"), request.user, Role.OPERATOR, pk=run_id
    )
    password = request.POST.get("password", "")
    if present.needs_password(run):
        try:
            validate_single_line(password)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect("connectivity:run", run_id=run.pk)
        if not password:
            messages.error(request, _("Type the password again: it is used for one run and "
                                      "never kept."))  # fmt: skip
            return redirect("connectivity:run", run_id=run.pk)
    again = ProbeRun.objects.create(
        tenant=run.tenant, probe=run.probe, params=run.params, started_by=request.user,
        target="" if run.tenant else run.params.get("host", run.target),
    )  # fmt: skip
    return _start_run(request, again, encrypt(password) if password and not run.tenant else None)


@requires()
@require_GET
def history(request, pk, probe):
    tenant = get_object_for_user(Tenant.objects.all(), request.user, pk=pk)
    if probe not in Probe.values:
        raise Http404
    runs = list(
        ProbeRun.objects.filter(tenant=tenant, probe=probe)
        .select_related("started_by")
        .defer("steps", "params")[:HISTORY_SIZE]
    )
    return render(request, "runs/history.html", {
        "tenant": tenant, "probe": Probe(probe), "runs": runs, "timeline": timeline(runs),
    })  # fmt: skip


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def adhoc(request):
    form = AdhocForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        run = ProbeRun.objects.create(
            probe=form.cleaned_data["probe"], params=form.params(), started_by=request.user,
            target=form.cleaned_data["host"],
        )  # fmt: skip
        password = form.cleaned_data.get("password")
        return _start_run(request, run, encrypt(password) if password else None)
    return render(request, "runs/adhoc.html", {"form": form})


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_POST
def run_everything(request):
    try:
        job = start_job(
            run_everything_task, kind="connectivity.everything",
            label=gettext_noop("Test everything for every tenant"), kwargs={"tenant_ids": None},
        )  # fmt: skip
    except QueueUnavailable as exc:
        messages.error(request, str(exc))
        return redirect("connectivity:index")
    messages.success(request, _("All tests started for every tenant."))
    return redirect("jobs:detail", job_id=job.pk)


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_POST
def run_tenant_all(request, pk):
    """Every test of one tenant, as one job (the same task as "Test everything")."""
    tenant = get_object_for_user(Tenant.objects.all(), request.user, Role.OPERATOR, pk=pk)
    try:
        job = start_job(
            run_everything_task, kind="connectivity.everything",
            label=gettext_noop("All tests for %(name)s") % {"name": tenant.name},
            kwargs={"tenant_ids": [tenant.pk]}, tenant=tenant,
        )  # fmt: skip
    except QueueUnavailable as exc:
        messages.error(request, str(exc))
        return redirect("tenants:detail", pk=tenant.pk)
    messages.success(request, _("All tests started for %(name)s.") % {"name": tenant.name})
    return redirect("jobs:detail", job_id=job.pk)


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_POST
def schedule_save(request, pk):
    tenant = get_object_for_user(Tenant.objects.all(), request.user, Role.OPERATOR, pk=pk)
    existing = tenant.schedules.filter(probe=request.POST.get("probe")).first()
    form = ScheduleForm(request.POST, instance=existing)
    if not form.is_valid() or form.cleaned_data["probe"] not in TENANT_PROBES:
        errors = "; ".join(e for errs in form.errors.values() for e in errs) or _("Invalid test.")
        messages.error(request, _("Schedule not saved: %(errors)s") % {"errors": errors})
        return redirect("tenants:detail", pk=tenant.pk)
    before = snapshot(existing) if existing else None
    schedule = form.save(commit=False)
    schedule.tenant = tenant
    schedule.notify_emails = form.cleaned_data["notify_text"]
    if existing is None or "interval_minutes" in form.changed_data:
        schedule.next_due = timezone.now()
    try:
        with transaction.atomic():
            schedule.save()
            record("schedule.update" if existing else "schedule.create", target=schedule,
                   tenant=tenant, before=before, after=snapshot(schedule))  # fmt: skip
    except IntegrityError:
        messages.error(request, _("This test already has a schedule."))
        return redirect("tenants:detail", pk=tenant.pk)
    messages.success(request, _("Schedule saved: %(s)s") % {"s": schedule})
    return redirect("tenants:detail", pk=tenant.pk)


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_POST
def schedule_delete(request, schedule_id):
    schedule = get_object_or_404(Schedule.objects.select_related("tenant"), pk=schedule_id)
    tenant = schedule.tenant
    with transaction.atomic():
        record("schedule.delete", target=schedule, tenant=tenant, before=snapshot(schedule))
        schedule.delete()
    messages.success(request, _("Schedule removed."))
    return redirect("tenants:detail", pk=tenant.pk)
