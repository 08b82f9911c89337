from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.audit.api import changes, record, snapshot
from portal.grants import lifecycle, powershell
from portal.grants.forms import RBAC_ROLES, ApplicationForm, DecisionForm, GrantForm
from portal.grants.models import Application, Grant
from portal.grants.tasks import start_verification
from portal.jobs.api import QueueUnavailable
from portal.lib.access import Role, get_object_for_user, requires, requires_reauthentication
from portal.lib.htmx import render
from portal.lib.paging import paginate

S = Grant.Status
GRANT_COLUMNS = (
    "application__name",
    "application__tenant__name",
    "model",
    "role",
    "scope",
    "scope_value",
    "mailboxes",
    "status",
    "source",
    "last_outcome",
    "expires_at",
)
APPLICATION_COLUMNS = ("tenant__name", "name", "owner", "auth", "status")


@requires()
@require_http_methods(["GET"])
def index(request):
    # Each list a page at a time; only the columns shown (no secret is decrypted for a list).
    grants = Grant.objects.select_related("application__tenant").only(*GRANT_COLUMNS)
    applications = Application.objects.select_related("tenant").only(*APPLICATION_COLUMNS)
    return render(request, "grants/index.html", {
        "grants": paginate(request, grants), "applications": paginate(request, applications,
                                                                      param="apps"),
    })  # fmt: skip


@requires(read=Role.ADMIN, change=Role.ADMIN)
@requires_reauthentication  # the form sets a secret
@require_http_methods(["GET", "POST"])
def application_edit(request, pk=None):
    app = None
    if pk is not None:
        app = get_object_for_user(Application.objects.all(), request.user, Role.ADMIN, pk=pk)
    # Taken before the form runs: validating a model form writes the new values onto ``app``.
    before = snapshot(app) if app else None
    form = ApplicationForm(request.POST or None, instance=app)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save()
            if before is None:
                record("grant.application.create", target=saved, tenant=saved.tenant,
                       after=snapshot(saved))  # fmt: skip
            else:
                old, new = changes(before, snapshot(saved))
                if form.cleaned_data.get("credential_secret"):
                    old.setdefault("credential_secret", "********")
                    new["credential_secret"] = "******** (replaced)"  # noqa: S105 - a marker
                record("grant.application.update", target=saved, tenant=saved.tenant,
                       before=old, after=new)  # fmt: skip
        messages.success(request, _("Application “%(name)s” saved.") % {"name": saved.name})
        return redirect("grants:application", pk=saved.pk)
    return render(request, "grants/application_form.html", {"form": form, "application": app})


@requires()
@require_http_methods(["GET"])
def application_detail(request, pk):
    app = get_object_for_user(Application.objects.select_related("tenant"), request.user, pk=pk)
    grants = app.grants.select_related("requested_by")
    return render(request, "grants/application.html", {"application": app, "grants": grants})


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def grant_request(request):
    initial = {"application": request.GET.get("application")}
    form = GrantForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        grant = lifecycle.request_grant(form.save(commit=False), request.user)
        messages.success(request, _("Grant requested. Another Admin must approve it."))
        return redirect("grants:detail", pk=grant.pk)
    has_apps = Application.objects.exists()
    return render(request, "grants/grant_form.html",
                  {"form": form, "rbac_roles": RBAC_ROLES, "has_apps": has_apps})  # fmt: skip


@requires()
@require_http_methods(["GET"])
def grant_detail(request, pk):
    grant = get_object_for_user(
        Grant.objects.select_related("application__tenant", "requested_by", "decided_by"),
        request.user, pk=pk,
    )  # fmt: skip
    own = grant.requested_by_id == request.user.pk
    checks = list(grant.checks.all()[:5])
    return render(request, "grants/grant.html", {
        "grant": grant, "own": own, "decision": DecisionForm(), "checks": checks,
        "live": grant.status in Grant.LIVE,
    })  # fmt: skip


# POST-only: which transition each button asks for.
TRANSITIONS = {"approve": S.APPROVED, "reject": S.REJECTED, "activate": S.ACTIVE,
               "revoke": S.REVOKED}  # fmt: skip
DONE = {S.APPROVED: _("Grant approved. Run the apply script in Exchange, then mark it active."),
        S.REJECTED: _("Grant rejected."), S.ACTIVE: _("Grant marked active."),
        S.REVOKED: _("Grant revoked. Run the removal script in Exchange.")}  # fmt: skip


@requires(read=Role.ADMIN, change=Role.ADMIN)
@requires_reauthentication
@require_POST
def grant_transition(request, pk, action):
    new = TRANSITIONS.get(action)
    grant = get_object_for_user(Grant.objects.all(), request.user, Role.ADMIN, pk=pk)
    form = DecisionForm(request.POST)
    if new is None or not form.is_valid():
        messages.error(request, _("That change is not possible; nothing was changed."))
        return redirect("grants:detail", pk=grant.pk)
    try:
        lifecycle.transition(grant.pk, new, request.user, form.cleaned_data["note"])
    except lifecycle.TransitionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, str(DONE[new]))
    return redirect("grants:detail", pk=grant.pk)


@requires()
@require_http_methods(["GET"])
def grant_script(request, pk, download=False):
    grant = get_object_for_user(
        Grant.objects.select_related("application__tenant"), request.user, pk=pk
    )
    action = request.GET.get("action", "apply")
    if action not in powershell.ACTIONS:
        action = "apply"
    try:
        script = powershell.generate(grant, action)
    except powershell.UnsafeValue:
        script = None
    if download and script is not None:
        response = HttpResponse(script.text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{script.filename}"'
        return response
    return render(request, "grants/script.html", {
        "grant": grant, "script": script, "action": action, "actions": powershell.ACTIONS,
    }, status=200 if script is not None else 400)  # fmt: skip


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_POST
def verify_now(request, pk=None):
    """Start a verification job: one grant, or (without pk) every live grant."""
    grant = None
    if pk is not None:
        grant = get_object_for_user(Grant.objects.select_related("application__tenant"),
                                    request.user, Role.OPERATOR, pk=pk)  # fmt: skip
        if grant.status not in Grant.LIVE:
            messages.error(request, _("Only approved or active grants can be verified."))
            return redirect("grants:detail", pk=grant.pk)
    back = redirect("grants:detail", pk=grant.pk) if grant else redirect("grants:index")
    try:
        job = start_verification([grant.pk] if grant else None,
                                 tenant=grant.tenant if grant else None)  # fmt: skip
    except QueueUnavailable as exc:
        messages.error(request, str(exc))
        return back
    messages.success(request, _("Verification started."))
    return redirect("jobs:detail", job_id=job.pk)
