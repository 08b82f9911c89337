from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connectivity import availability, lifecycle
from portal.audit.api import changes, record, snapshot
from portal.integrations import present
from portal.integrations.forms import IntegrationForm, ProfileForm
from portal.integrations.models import FeatureStatus, Integration, TenantProfile
from portal.integrations.powershell import skype_commands
from portal.integrations.tasks import start_check
from portal.integrations.timeline import DAYS, timeline
from portal.jobs.api import QueueUnavailable
from portal.lib.access import Role, get_object_for_user, requires
from portal.lib.htmx import render
from portal.lib.paging import paginate
from portal.tenants.models import Tenant

# The lists show no tenant secret: joined tenants leave theirs unread (and undecrypted).
TENANT_SECRETS = ("client_secret", "certificate_pem", "password")
# Each integration is a block of its own (a row per feature, per-tenant actions).
INTEGRATIONS_PER_PAGE = 25


def _integrations():
    return Integration.objects.select_related("tenant").prefetch_related("states")


def _listed():
    return _integrations().defer(*(f"tenant__{name}" for name in TENANT_SECRETS))


@requires()
@require_GET
def index(request):
    # Two lists, a page each: the integrations (grouped per tenant) and every tenant's plan.
    page = paginate(request, _listed(), per_page=INTEGRATIONS_PER_PAGE)
    tenants = paginate(
        request,
        Tenant.objects.select_related("profile").defer(*TENANT_SECRETS).order_by("name"),
        param="tenants",
    )
    return render(request, "integrations/index.html", {
        "groups": present.matrix(page), "page": page, "has_tenants": bool(tenants.object_list),
        "tenants": present.tenant_rows(tenants, timezone.localdate()), "tenant_page": tenants,
    })  # fmt: skip


@requires()
@require_GET
def tiles(request):
    integrations = Integration.objects.only("name", "product", "features")
    states = FeatureStatus.objects.order_by("id").values_list("integration_id", "feature", "status")
    tenants = (
        Tenant.objects.filter(kind=Tenant.Kind.SERVER)
        .select_related("profile")
        .defer(*TENANT_SECRETS)
    )
    context = present.tiles(integrations, states)
    context["versions"] = [row for row in present.tenant_rows(tenants, timezone.localdate())
                           if row["version"] and row["version"].css != "pass"]  # fmt: skip
    return render(request, "integrations/tiles.html", context)


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def create(request):
    initial = {}
    tenant_id = request.GET.get("tenant", "")
    if tenant_id.isascii() and tenant_id.isdigit():
        initial["tenant"] = int(tenant_id)
    form = IntegrationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            integration = form.save()
            record("integration.create", target=integration, tenant=integration.tenant,
                   after=snapshot(integration))  # fmt: skip
        messages.success(request, _("Integration “%(name)s” added.") % {"name": integration.name})
        return redirect("integrations:detail", pk=integration.pk)
    return render(request, "integrations/form.html", {"form": form, "integration": None})


@requires()
@require_GET
def detail(request, pk):
    integration = get_object_for_user(_integrations(), request.user, pk=pk)
    since = timezone.now() - timezone.timedelta(days=DAYS)
    checks = integration.checks.filter(checked_at__gte=since).only(
        "feature", "status", "checked_at")  # fmt: skip
    features = [(f, label) for f, label in present.feature_labels(integration)]
    today = timezone.localdate()
    return render(request, "integrations/detail.html", {
        "integration": integration,
        "product": present.product_state(integration.lifecycle, today),
        "features": present.feature_rows(integration, today),
        "timeline": timeline(checks, features, today) if features else None,
        "commands": skype_commands(integration.tenant) if not integration.is_sharepoint else [],
        "recent": integration.checks.all()[:10],
    })  # fmt: skip


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def edit(request, pk):
    integration = get_object_for_user(_integrations(), request.user, Role.OPERATOR, pk=pk)
    form = IntegrationForm(request.POST or None, instance=integration)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            before = snapshot(Integration.objects.select_for_update().get(pk=integration.pk))
            integration = form.save()
            old, new = changes(before, snapshot(integration))
            record("integration.update", target=integration, tenant=integration.tenant,
                   before=old, after=new)  # fmt: skip
        messages.success(request, _("Changes saved."))
        return redirect("integrations:detail", pk=integration.pk)
    return render(request, "integrations/form.html", {"form": form, "integration": integration})


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def delete(request, pk):
    integration = get_object_for_user(_integrations(), request.user, Role.OPERATOR, pk=pk)
    if request.method == "POST":
        with transaction.atomic():
            before = snapshot(integration)
            record("integration.delete", target=integration, tenant=integration.tenant,
                   before=before)  # fmt: skip
            integration.delete()
        messages.success(request, _("Integration “%(name)s” deleted.") % {"name": before["name"]})
        return redirect("integrations:index")
    return render(request, "integrations/delete.html", {"integration": integration})


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_POST
def check(request, pk):
    integration = get_object_for_user(_integrations(), request.user, Role.OPERATOR, pk=pk)
    return _start(request, [integration], integration.tenant,
                  redirect("integrations:detail", pk=pk))  # fmt: skip


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_POST
def check_tenant(request, pk):
    tenant = get_object_for_user(Tenant.objects.all(), request.user, Role.OPERATOR, pk=pk)
    integrations = list(_integrations().filter(tenant=tenant))
    if not integrations:
        messages.error(request, _("This tenant has no integrations to check yet: add one first."))
        return redirect("integrations:index")
    return _start(request, integrations, tenant, redirect("integrations:index"))


def _start(request, integrations, tenant, fallback):
    try:
        job = start_check(integrations, tenant)
    except QueueUnavailable as exc:
        messages.error(request, str(exc))
        return fallback
    messages.success(request, _("Checks started."))
    return redirect("jobs:detail", job_id=job.pk)


@requires(read=Role.VIEWER, change=Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def tenant_features(request, pk):
    tenant = get_object_for_user(Tenant.objects.all(), request.user, pk=pk)
    profile = TenantProfile.objects.filter(tenant=tenant).first() or TenantProfile(tenant=tenant)
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST":
        if form.is_valid():
            with transaction.atomic():
                before = snapshot(profile) if profile.pk else {}
                profile = form.save(commit=False)
                if "exchange_version" in form.changed_data:
                    profile.version_source = TenantProfile.Source.ENTERED
                    profile.version_recorded_at = timezone.now()
                    profile.build = ""
                profile.save()
                old, new = changes(before, snapshot(profile))
                record("tenant.profile_update", target=tenant, tenant=tenant, before=old,
                       after=new)  # fmt: skip
            messages.success(request, _("Changes saved."))
            return redirect("integrations:tenant", pk=tenant.pk)
        messages.error(request, _("Please correct the fields marked below. Nothing was saved."))
    today = timezone.localdate()
    version = lifecycle.PRODUCTS.get(profile.exchange_version)
    return render(request, "integrations/tenant.html", {
        "tenant": tenant, "profile": profile, "form": form,
        "plans": availability.PLANS, "rows": present.availability_rows(profile.plan),
        "version": present.product_state(version, today) if version else None,
    }, status=400 if request.method == "POST" else 200)  # fmt: skip
