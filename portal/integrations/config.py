"""``integrations:`` in ``manage.py config apply/export``, matched by tenant + name.

Validated by the integration form (without its tenant menu: the document names the tenant).
Audited as the pages audit: ``integration.create`` / ``integration.update`` /
``integration.delete``. Integrations hold no secrets: the checks use the tenant's credentials.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.audit.api import changes, record, snapshot
from portal.configuration.registry import Context, Field, RecordKind, fields_from_form, register
from portal.integrations.forms import IntegrationForm
from portal.integrations.models import Feature, Integration
from portal.tenants.models import Tenant


class IntegrationConfigForm(IntegrationForm):
    # The document gives a list; the registry hands it to the form as comma-separated text.
    features = forms.CharField(label=IntegrationForm.base_fields["features"].label)

    class Meta(IntegrationForm.Meta):
        fields = [f for f in IntegrationForm.Meta.fields if f != "tenant"]

    def clean_features(self):
        values = [v.strip() for v in self.cleaned_data["features"].split(",") if v.strip()]
        unknown = [v for v in values if v not in Feature.values]
        if unknown:
            raise ValidationError(_("Unknown feature: %(names)s. Known: %(known)s.") % {
                "names": ", ".join(unknown), "known": ", ".join(Feature.values)})  # fmt: skip
        return values

    def clean(self):
        data = super().clean()
        data["notify_emails_text"] = data.get("notify_emails", [])
        data["features"] = [f for f in Feature.values if f in (data.get("features") or [])]
        return data


_ORDER = ["name", "product", "features", "web_app_url", "site_mailbox", "pool_fqdn", "pool_port",
          "edge_fqdn", "sip_domain", "account", "test_mailbox", "owner", "notes",
          "notify_emails_text"]  # fmt: skip


class IntegrationKind(RecordKind):
    table = "integrations"
    order = 40
    form_class = IntegrationConfigForm
    key_fields = ("tenant", "name")

    def __init__(self):
        tenant = Field(
            name="tenant", form_field=None, attr="tenant_name", type="string", required=True,
            max_length=Tenant._meta.get_field("name").max_length,
            description="The name of a tenant (in this file's tenants, or already stored).",
        )  # fmt: skip
        lists = {"features": ",", "notify_emails_text": ","}
        self.fields = [tenant] + fields_from_form(IntegrationConfigForm, _ORDER, lists=lists)

    def existing(self, ctx: Context) -> dict:
        qs = Integration.objects.select_related("tenant")
        if ctx.lock:
            qs = qs.select_for_update(of=("self",))
        return {(i.tenant.name, i.name): i for i in qs}

    def form_instance(self, key, ctx: Context):
        return Integration()

    def extra_checks(self, values: dict, ctx: Context) -> list[tuple[str, str]]:
        if values["tenant_name"] not in {key[0] for key in ctx.names_after("tenants")}:
            return [("tenant", _("No tenant named “%(name)s” (in this file or stored).")
                     % {"name": values["tenant_name"]})]  # fmt: skip
        return []

    def create(self, values: dict, source: dict):
        integration = Integration(tenant=Tenant.objects.get(name=values["tenant_name"]))
        for attr, value in values.items():
            if attr != "tenant_name":
                setattr(integration, attr, value)
        integration.save()
        record("integration.create", target=integration, tenant=integration.tenant,
               after={**snapshot(integration), "applied_from": source})  # fmt: skip
        return integration

    def update(self, integration, values: dict, changed: list[str], source: dict):
        before = snapshot(integration)
        for name in changed:
            attr = self.field(name).attr
            setattr(integration, attr, values[attr])
        integration.save()
        old, new = changes(before, snapshot(integration))
        record("integration.update", target=integration, tenant=integration.tenant, before=old,
               after={**new, "applied_from": source})  # fmt: skip
        return integration

    def delete(self, integration, source: dict):
        record("integration.delete", target=integration, tenant=integration.tenant,
               before=snapshot(integration), after={"applied_from": source})  # fmt: skip
        integration.delete()

    def export(self, tenant: str | None) -> list[dict]:
        qs = Integration.objects.select_related("tenant").order_by("tenant__name", "name")
        if tenant is not None:
            qs = qs.filter(tenant__name=tenant)
        rows = []
        for integration in qs:
            row = {"tenant": integration.tenant.name, "name": integration.name}
            for f in self.fields[2:]:
                value = getattr(integration, f.attr)
                if value != f.default:
                    row[f.name] = list(value) if f.type == "list" else value
            rows.append(row)
        return rows


register(IntegrationKind())
