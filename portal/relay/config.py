"""``relay_clients:`` in ``manage.py config apply/export``, matched by tenant + name.

Validated by the relay client form (without its tenant menu: the document names the tenant),
credentials only as ``password_env`` / ``password_file`` (or ``oauth_client_secret_…``).
Audited as the pages audit: ``relay.create`` / ``relay.update`` / ``relay.delete``; a credential
given or replaced also goes into the rotation history (never its value).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from portal.audit.api import changes, record
from portal.audit.censor import CENSOR
from portal.configuration.registry import Context, Field, RecordKind, fields_from_form, register
from portal.configuration.tenants import secret_env_names
from portal.lib.validators import validate_single_line
from portal.relay.forms import RelayClientForm
from portal.relay.models import RelayClient, Rotation
from portal.relay.snapshots import client_snapshot
from portal.tenants.models import Tenant

SECRETS = ("password", "oauth_client_secret")


class RelayConfigForm(RelayClientForm):
    username = forms.CharField(label=_l("Mailbox (user name)"), max_length=254, required=False)
    password = forms.CharField(label=_l("password"), required=False, strip=False, max_length=256)
    oauth_client_id = forms.CharField(label=_l("OAuth application (client) id"), max_length=80,
                                      required=False)  # fmt: skip
    oauth_client_secret = forms.CharField(label=_l("OAuth client secret"), required=False,
                                          strip=False, max_length=512)  # fmt: skip

    class Meta(RelayClientForm.Meta):
        fields = [f for f in RelayClientForm.Meta.fields if f != "tenant"]

    def clean(self):
        data = super().clean()
        for name in ("username", "password", "oauth_client_id", "oauth_client_secret"):
            try:
                validate_single_line(data.get(name))
            except ValidationError as exc:
                self.add_error(name, exc)
        if (data.get("password") or data.get("oauth_client_secret")) and not data.get("username"):
            self.add_error("username", _("A credential needs the mailbox it signs in as."))
        return data


_ORDER = ["name", "kind", "owner", "owner_email", "location", "method", "source_ips_text",
          "sender_addresses_text", "supports_oauth", "internal_only", "smtp_host", "smtp_port",
          "smtp_security", "rotation_days", "notes", "username", "password", "oauth_client_id",
          "oauth_client_secret"]  # fmt: skip


class RelayClientKind(RecordKind):
    table = "relay_clients"
    order = 30
    form_class = RelayConfigForm
    key_fields = ("tenant", "name")
    env_prefix = "RELAY_"

    def __init__(self):
        tenant = Field(
            name="tenant", form_field=None, attr="tenant_name", type="string", required=True,
            max_length=Tenant._meta.get_field("name").max_length,
            description="The name of a tenant (in this file's tenants, or already stored).",
        )  # fmt: skip
        lists = {"source_ips_text": "\n", "sender_addresses_text": "\n"}
        self.fields = [tenant] + fields_from_form(RelayConfigForm, _ORDER, lists=lists,
                                                  secrets=SECRETS)  # fmt: skip

    def existing(self, ctx: Context) -> dict:
        qs = RelayClient.objects.select_related("tenant")
        if ctx.lock:
            qs = qs.select_for_update(of=("self",))
        return {(c.tenant.name, c.name): c for c in qs}

    def form_instance(self, key, ctx: Context):
        return RelayClient()

    def extra_checks(self, values: dict, ctx: Context) -> list[tuple[str, str]]:
        if values["tenant_name"] not in {key[0] for key in ctx.names_after("tenants")}:
            return [("tenant", _("No tenant named “%(name)s” (in this file or stored).")
                     % {"name": values["tenant_name"]})]  # fmt: skip
        return []

    def _apply(self, client, values: dict, attrs) -> None:
        for attr in attrs:
            if attr != "tenant_name":
                setattr(client, attr, values[attr])

    def _rotation(self, client, action, source) -> None:
        client.rotated_at, client.reminder_sent_for = timezone.now(), None
        client.save(update_fields=["rotated_at", "reminder_sent_for"])
        who = source.get("os_user") or source.get("via") or ""
        Rotation.objects.create(client=client, action=action,
                                by_username=f"config apply ({who})"[:150])  # fmt: skip

    def create(self, values: dict, source: dict):
        client = RelayClient(tenant=Tenant.objects.get(name=values["tenant_name"]))
        self._apply(client, values, values)
        client.save()
        record("relay.create", target=client, tenant=client.tenant,
               after={**client_snapshot(client), "applied_from": source})  # fmt: skip
        if client.has_credential:
            self._rotation(client, Rotation.Action.SET, source)
        return client

    def update(self, client, values: dict, changed: list[str], source: dict):
        before = client_snapshot(client)
        had_credential = client.has_credential
        attrs = [self.field(name).attr for name in changed]
        self._apply(client, values, attrs)
        # Only the changed columns: saving an unchanged secret would encrypt it anew.
        client.save(update_fields=[*attrs, "updated_at"])
        old, new = changes(before, client_snapshot(client))
        replaced = [name for name in SECRETS if name in changed]
        for name in replaced:
            old[name] = CENSOR if had_credential else ""
            new[name] = f"{CENSOR} (replaced)" if values[name] else ""
        record("relay.update", target=client, tenant=client.tenant, before=old,
               after={**new, "applied_from": source})  # fmt: skip
        if replaced:
            action = (Rotation.Action.ROTATED if had_credential else Rotation.Action.SET) \
                if client.has_credential else Rotation.Action.CLEARED  # fmt: skip
            self._rotation(client, action, source)
        return client

    def delete(self, client, source: dict):
        record("relay.delete", target=client, tenant=client.tenant,
               before=client_snapshot(client), after={"applied_from": source})  # fmt: skip
        client.delete()

    def export(self, tenant: str | None) -> list[dict]:
        qs = RelayClient.objects.select_related("tenant").order_by("tenant__name", "name")
        if tenant is not None:
            qs = qs.filter(tenant__name=tenant)
        clients = list(qs)
        prefixes = secret_env_names([f"{c.tenant.name} {c.name}" for c in clients])
        rows = []
        for client in clients:
            row = {"tenant": client.tenant.name, "name": client.name}
            prefix = "RELAY_" + prefixes[f"{client.tenant.name} {client.name}"].removeprefix(
                "TENANT_")  # fmt: skip
            for f in self.fields[2:]:
                value = getattr(client, f.attr)
                if f.secret:
                    if value:
                        row[f"{f.name}_env"] = f"{prefix}_{f.name.upper()}"
                elif value != f.default:
                    row[f.name] = list(value) if f.type == "list" else value
            rows.append(row)
        return rows


register(RelayClientKind())
