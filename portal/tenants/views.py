from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.audit.api import changes, record, snapshot
from portal.lib.access import Role, get_object_for_user, requires, requires_reauthentication
from portal.lib.htmx import render
from portal.lib.paging import paginate
from portal.tenants.forms import TenantForm
from portal.tenants.models import Tenant

LIST_COLUMNS = ("name", "kind", "cloud", "accepted_domains", "test_mailbox", "auth_method",
                "tls_verify")  # fmt: skip


@requires()
@require_http_methods(["GET"])
def tenant_list(request):
    # Only what the table shows: the secrets would be decrypted for nothing.
    tenants = Tenant.objects.only(*LIST_COLUMNS)
    return render(request, "tenants/list.html", {"page": paginate(request, tenants)})


@requires(read=Role.ADMIN, change=Role.ADMIN)
@requires_reauthentication  # the form sets secrets
@require_http_methods(["GET", "POST"])
def tenant_create(request):
    form = TenantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            tenant = form.save()
            record("tenant.create", target=tenant, tenant=tenant, after=snapshot(tenant))
            if not tenant.tls_verify:
                record("tenant.tls_verification_disabled", target=tenant, tenant=tenant)
        messages.success(request, _("Tenant “%(name)s” added.") % {"name": tenant.name})
        return redirect("tenants:detail", pk=tenant.pk)
    return render(request, "tenants/form.html", {"form": form, "tenant": None})


@requires()
@require_http_methods(["GET"])
def tenant_detail(request, pk):
    tenant = get_object_for_user(Tenant.objects.all(), request.user, pk=pk)
    return render(request, "tenants/detail.html", {"tenant": tenant, "ep": tenant.endpoints()})


@requires(read=Role.ADMIN, change=Role.ADMIN)
@requires_reauthentication  # the form changes secrets and TLS verification
@require_http_methods(["GET", "POST"])
def tenant_edit(request, pk):
    tenant = get_object_for_user(Tenant.objects.all(), request.user, Role.ADMIN, pk=pk)
    form = TenantForm(request.POST or None, instance=tenant)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
            before = snapshot(locked)
            verified_before = locked.tls_verify
            tenant = form.save()
            old, new = changes(before, snapshot(tenant))
            # A replaced secret shows as changed without revealing either value.
            for name in ("client_secret", "certificate_pem", "password"):
                if form.cleaned_data.get(name):
                    old.setdefault(name, "********")
                    new[name] = "******** (replaced)"
            record("tenant.update", target=tenant, tenant=tenant, before=old, after=new)
            if verified_before and not tenant.tls_verify:
                record("tenant.tls_verification_disabled", target=tenant, tenant=tenant)
        messages.success(request, _("Changes saved."))
        return redirect("tenants:detail", pk=tenant.pk)
    return render(request, "tenants/form.html", {"form": form, "tenant": tenant})


@requires(read=Role.ADMIN, change=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def tenant_delete(request, pk):
    tenant = get_object_for_user(Tenant.objects.all(), request.user, Role.ADMIN, pk=pk)
    if request.method == "POST":
        if request.POST.get("confirm_name", "").strip() != tenant.name:
            messages.error(request, _("Type the tenant's exact name to confirm."))
            return render(request, "tenants/delete.html", {"tenant": tenant}, status=400)
        with transaction.atomic():
            before = snapshot(tenant)
            record("tenant.delete", target=tenant, tenant=tenant, before=before)
            tenant.delete()
        messages.success(request, _("Tenant “%(name)s” deleted.") % {"name": before["name"]})
        return redirect("tenants:list")
    return render(request, "tenants/delete.html", {"tenant": tenant})
