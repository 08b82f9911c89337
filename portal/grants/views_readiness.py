"""EWS retirement readiness pages and the dashboard tile of the grants area."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.audit.api import changes, record, snapshot
from portal.grants import readiness
from portal.grants.forms import TenantEwsForm
from portal.grants.models import Grant, TenantEws
from portal.lib.access import Role, get_object_for_user, requires
from portal.lib.htmx import render
from portal.lib.paging import paginate
from portal.tenants.models import Tenant

READINESS_TENANTS = 20


@requires()
@require_http_methods(["GET"])
def readiness_page(request):
    # A page of tenants at a time: each lists every application of its own that uses EWS.
    page = paginate(request, Tenant.objects.only("name", "kind"), per_page=READINESS_TENANTS)
    rows = readiness.for_tenants(page)
    return render(request, "grants/readiness.html", {
        "rows": rows, "page": page, "days_left": readiness.days_left(),
        "shutdown": readiness.SHUTDOWN,
    })  # fmt: skip


@requires(read=Role.ADMIN, change=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def readiness_edit(request, pk):
    tenant = get_object_for_user(Tenant.objects.all(), request.user, Role.ADMIN, pk=pk)
    if tenant.kind != Tenant.Kind.ONLINE:
        messages.error(request, _("EWS stays available on Exchange Server: nothing to record."))
        return redirect("grants:readiness")
    state = TenantEws.objects.filter(tenant=tenant).first() or TenantEws(tenant=tenant)
    form = TenantEwsForm(request.POST or None, instance=state)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            before = snapshot(state) if state.pk else {}
            saved = form.save()
            old, new = changes(before, snapshot(saved))
            record("grant.ews_settings", target=tenant, tenant=tenant, before=old, after=new)
        messages.success(request, _("EWS settings of %(name)s saved.") % {"name": tenant.name})
        return redirect("grants:readiness")
    return render(request, "grants/readiness_form.html", {"form": form, "tenant": tenant})


@requires()
@require_http_methods(["GET"])
def tiles(request):
    """Dashboard tiles: grants whose reality differs from the record, and EWS readiness."""
    differs = Grant.objects.filter(
        status__in=Grant.LIVE, last_outcome__in=["broken", "over-privileged"]
    )
    drift = list(
        differs.select_related("application__tenant").only(
            "application__name", "application__tenant__name", "last_outcome"
        )[:6]
    )
    online = Tenant.objects.filter(kind="online").only("name", "kind")
    return render(request, "grants/tiles.html", {
        "drift": drift, "drift_count": differs.count(),
        "scores": readiness.scores(online), "days_left": readiness.days_left(),
        "has_grants": Grant.objects.filter(status__in=Grant.LIVE).exists(),
    })  # fmt: skip
