from django.contrib import messages
from django.db import transaction
from django.db.models import Count
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.audit.api import changes, record
from portal.lib.access import Role, check_role, get_object_for_user, has_role, requires
from portal.lib.htmx import render
from portal.lib.paging import paginate
from portal.lib.validators import ascii_int
from portal.relay import readiness
from portal.relay.credentials import pop_shown_once
from portal.relay.forms import RelayClientForm, TestSendForm
from portal.relay.models import RelayClient
from portal.relay.snapshots import client_snapshot
from portal.tenants.models import Tenant

# A list shows no tenant secret: joined tenants leave theirs unread (and undecrypted).
TENANT_SECRETS = ("tenant__client_secret", "tenant__certificate_pem", "tenant__password")
# What readiness.assess and the tile read of a client.
ASSESS_COLUMNS = ("name", "kind", "method", "supports_oauth", "internal_only", "source_ips",
                  "tenant__name", "tenant__kind")  # fmt: skip


def delete_role(client) -> Role:
    """Deleting a client destroys its credential: only those who may change credentials."""
    return Role.ADMIN if client.has_credential else Role.OPERATOR


@requires()
@require_http_methods(["GET"])
def client_list(request):
    clients = RelayClient.objects.select_related("tenant").defer(*TENANT_SECRETS)
    tenant_id = ascii_int(request.GET.get("tenant"))
    if tenant_id is not None:
        clients = clients.filter(tenant_id=tenant_id)
    page = paginate(request, clients)
    return render(request, "relay/list.html", {
        "rows": [(c, readiness.assess(c)) for c in page], "page": page,
        "tenants": Tenant.objects.only("name").order_by("name"), "tenant_id": tenant_id,
        "can_change": has_role(request.user, Role.OPERATOR),
    })  # fmt: skip


@requires()
@require_http_methods(["GET"])
def readiness_tile(request):
    """Dashboard tile: clients that stop working when Basic SMTP AUTH is turned off.

    Counted and grouped per tenant in SQL; only the few clients the tile names are read.
    """
    affected = readiness.affected_clients(RelayClient.objects.all())
    per_tenant = (
        affected.order_by("tenant__name").values_list("tenant__name").annotate(n=Count("id"))
    )
    named = affected.select_related("tenant").only(*ASSESS_COLUMNS)[:8]
    return render(request, "relay/tile.html", {
        "affected": [(c, readiness.assess(c)) for c in named], "count": affected.count(),
        "per_tenant": list(per_tenant), "stops_on": readiness.BASIC_SMTP_AUTH_OFF,
    })  # fmt: skip


@requires()
@require_http_methods(["GET"])
def client_detail(request, pk):
    client = get_object_for_user(RelayClient.objects.select_related("tenant"), request.user, pk=pk)
    is_admin = has_role(request.user, Role.ADMIN)
    response = render(request, "relay/detail.html", {
        "client": client, "assessment": readiness.assess(client),
        "rotations": client.rotations.all()[:20], "tests": client.tests.all()[:10],
        "shown_once": pop_shown_once(request, client) if is_admin else None,
        "is_admin": is_admin, "can_change": has_role(request.user, Role.OPERATOR),
        "can_delete": has_role(request.user, delete_role(client)),
        "test_form": TestSendForm(client=client),
    })  # fmt: skip
    response["Cache-Control"] = "no-store"  # may carry a credential shown once
    return response


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def client_create(request):
    form = RelayClientForm(request.POST or None, initial={"tenant": request.GET.get("tenant")})
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            client = form.save()
            record(
                "relay.create", target=client, tenant=client.tenant, after=client_snapshot(client)
            )
        messages.success(request, _("Relay client “%(name)s” added.") % {"name": client.name})
        return redirect("relay:detail", pk=client.pk)
    return render(request, "relay/form.html", {"form": form, "client": None})


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def client_edit(request, pk):
    client = get_object_for_user(RelayClient.objects.all(), request.user, Role.OPERATOR, pk=pk)
    form = RelayClientForm(request.POST or None, instance=client)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            locked = RelayClient.objects.select_for_update().get(pk=client.pk)
            before = client_snapshot(locked)
            client = form.save()
            old, new = changes(before, client_snapshot(client))
            record("relay.update", target=client, tenant=client.tenant, before=old, after=new)
        messages.success(request, _("Changes saved."))
        return redirect("relay:detail", pk=client.pk)
    return render(request, "relay/form.html", {"form": form, "client": client})


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def client_delete(request, pk):
    client = get_object_for_user(RelayClient.objects.all(), request.user, Role.OPERATOR, pk=pk)
    check_role(request, delete_role(client))
    if request.method == "POST":
        if request.POST.get("confirm_name", "").strip() != client.name:
            messages.error(request, _("Type the client's exact name to confirm."))
            return render(request, "relay/delete.html", {"client": client}, status=400)
        with transaction.atomic():
            before = client_snapshot(client)
            record("relay.delete", target=client, tenant=client.tenant, before=before)
            client.delete()
        messages.success(request, _("Relay client “%(name)s” deleted.") % {"name": before["name"]})
        return redirect("relay:list")
    return render(request, "relay/delete.html", {"client": client})
