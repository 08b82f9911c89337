"""``applications:`` and ``grants:`` in ``manage.py config apply/export``.

Applications are matched by tenant + name and validated by the application form (the document
names the tenant); the verification secret only as ``credential_secret_env`` / ``_file``.
Grants that already exist in Exchange are recorded as active with the source "configuration",
matched by tenant + application + permission model + role; pruning one revokes it. Grants
requested through the portal keep their own lifecycle and are neither exported nor touched.
"""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from portal.audit.api import changes, record, snapshot
from portal.audit.censor import CENSOR
from portal.configuration.registry import Context, Field, RecordKind, fields_from_form, register
from portal.configuration.tenants import secret_env_names
from portal.grants import lifecycle
from portal.grants.forms import ApplicationForm, GrantForm, model_problems
from portal.grants.models import Application, EwsUse, Grant, Source
from portal.tenants.models import Tenant


def _tenant_field() -> Field:
    return Field(
        name="tenant", form_field=None, attr="tenant_name", type="string", required=True,
        max_length=Tenant._meta.get_field("name").max_length,
        description="The name of a tenant (in this file's tenants, or already stored).",
    )  # fmt: skip


def _choice_list(text: str, choices) -> list[str]:
    allowed = {str(v) for v, _label in choices}
    values = [v for v in re.split(r"[\s,;]+", text or "") if v]
    wrong = [v for v in values if v not in allowed]
    if wrong:
        raise ValidationError(_("Unknown value “%(v)s”; use one of: %(all)s.")
                              % {"v": wrong[0], "all": ", ".join(sorted(allowed))})  # fmt: skip
    return list(dict.fromkeys(values))


class ApplicationConfigForm(ApplicationForm):
    protocols_text = forms.CharField(label=_l("Protocols used"), required=False)
    ews_uses_text = forms.CharField(label=_l("What it does through EWS"), required=False)

    class Meta(ApplicationForm.Meta):
        fields = [f for f in ApplicationForm.Meta.fields
                  if f not in ("tenant", "protocols", "ews_uses")]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["protocols"], self.fields["ews_uses"]

    def clean_protocols_text(self):
        return _choice_list(self.cleaned_data.get("protocols_text"), Application.Protocol.choices)

    def clean_ews_uses_text(self):
        return _choice_list(self.cleaned_data.get("ews_uses_text"), EwsUse.choices)


_APP_ORDER = ["name", "owner", "purpose", "client_id", "service_principal_id", "service_account",
              "auth", "protocols_text", "ews_uses_text", "status", "credential_secret"]  # fmt: skip


def _source(source: dict) -> dict:
    return {"applied_from": source}


class ApplicationKind(RecordKind):
    table = "applications"
    order = 50
    form_class = ApplicationConfigForm
    key_fields = ("tenant", "name")
    env_prefix = "APP_"

    def __init__(self):
        lists = {"protocols_text": "\n", "ews_uses_text": "\n"}
        self.fields = [_tenant_field()] + fields_from_form(
            ApplicationConfigForm, _APP_ORDER, lists=lists, secrets=("credential_secret",)
        )

    def existing(self, ctx: Context) -> dict:
        qs = Application.objects.select_related("tenant")
        if ctx.lock:
            qs = qs.select_for_update(of=("self",))
        return {(a.tenant.name, a.name): a for a in qs}

    def form_instance(self, key, ctx: Context):
        # The stored tenant (if any) lets the form apply its Online / Server rules.
        return Application(tenant=Tenant.objects.filter(name=key[0]).first())

    def extra_checks(self, values: dict, ctx: Context) -> list[tuple[str, str]]:
        if values["tenant_name"] not in {key[0] for key in ctx.names_after("tenants")}:
            return [("tenant", _("No tenant named “%(name)s” (in this file or stored).")
                     % {"name": values["tenant_name"]})]  # fmt: skip
        return []

    def _set(self, app, values: dict, attrs) -> None:
        for attr in attrs:
            if attr != "tenant_name":
                setattr(app, attr, values[attr])

    def create(self, values: dict, source: dict):
        app = Application(tenant=Tenant.objects.get(name=values["tenant_name"]),
                          source=Source.CONFIGURATION)  # fmt: skip
        self._set(app, values, values)
        app.save()
        record("grant.application.create", target=app, tenant=app.tenant,
               after={**snapshot(app), **_source(source)})  # fmt: skip
        return app

    def update(self, app, values: dict, changed: list[str], source: dict):
        before = snapshot(app)
        had_secret = bool(app.credential_secret)
        attrs = [self.field(name).attr for name in changed]
        self._set(app, values, attrs)
        app.save(update_fields=[*attrs, "updated_at"])
        old, new = changes(before, snapshot(app))
        if "credential_secret" in changed:
            old["credential_secret"] = CENSOR if had_secret else ""
            new["credential_secret"] = f"{CENSOR} (replaced)" if values["credential_secret"] else ""
        record("grant.application.update", target=app, tenant=app.tenant, before=old,
               after={**new, **_source(source)})  # fmt: skip
        return app

    def delete(self, app, source: dict):
        record("grant.application.delete", target=app, tenant=app.tenant, before=snapshot(app),
               after=_source(source))  # fmt: skip
        app.delete()

    def export(self, tenant: str | None) -> list[dict]:
        qs = Application.objects.select_related("tenant").order_by("tenant__name", "name")
        if tenant is not None:
            qs = qs.filter(tenant__name=tenant)
        apps = list(qs)
        prefixes = secret_env_names([f"{a.tenant.name} {a.name}" for a in apps])
        rows = []
        for app in apps:
            row = {"tenant": app.tenant.name, "name": app.name}
            prefix = "APP_" + prefixes[f"{app.tenant.name} {app.name}"].removeprefix("TENANT_")
            for f in self.fields[2:]:
                value = getattr(app, f.attr)
                if f.secret:
                    if value:
                        row[f"{f.name}_env"] = f"{prefix}_{f.name.upper()}"
                elif value != f.default:
                    row[f.name] = list(value) if f.type == "list" else value
            rows.append(row)
        return rows


class GrantConfigForm(GrantForm):
    expires_on = forms.CharField(label=_l("Expires on"), help_text=_l("A day: YYYY-MM-DD."))

    class Meta(GrantForm.Meta):
        fields = [f for f in GrantForm.Meta.fields if f != "application"]

    def clean_expires_on(self):
        text = (self.cleaned_data.get("expires_on") or "").strip()
        try:
            self.cleaned_data["expires_on"] = timezone.datetime.strptime(text, "%Y-%m-%d").date()
        except ValueError:
            raise ValidationError(_("Give the expiry day as YYYY-MM-DD.")) from None
        return super().clean_expires_on()


_GRANT_ORDER = ["model", "role", "scope", "scope_value", "mailboxes_text", "justification",
                "ticket", "expires_on"]  # fmt: skip


class GrantKind(RecordKind):
    table = "grants"
    order = 60
    form_class = GrantConfigForm
    key_fields = ("tenant", "application", "model", "role")

    def __init__(self):
        application = Field(
            name="application", form_field=None, attr="application_name", type="string",
            required=True, max_length=Application._meta.get_field("name").max_length,
            description="The name of the tenant's application (in this file or stored).",
        )  # fmt: skip
        self.fields = [_tenant_field(), application] + fields_from_form(
            GrantConfigForm, _GRANT_ORDER, lists={"mailboxes_text": "\n"}
        )

    def key_of(self, values: dict) -> tuple:
        return (values["tenant_name"], values["application_name"], values["model"],
                values["role"])  # fmt: skip

    def existing(self, ctx: Context) -> dict:
        qs = Grant.objects.filter(source=Source.CONFIGURATION, status__in=Grant.LIVE)
        qs = qs.select_related("application__tenant")
        if ctx.lock:
            qs = qs.select_for_update(of=("self",))
        return {(g.tenant.name, g.application.name, g.model, g.role): g for g in qs}

    def form_instance(self, key, ctx: Context):
        return Grant()

    def extra_checks(self, values: dict, ctx: Context) -> list[tuple[str, str]]:
        pair = (values["tenant_name"], values["application_name"])
        if pair not in ctx.names_after("applications"):
            message = _("No application “%(app)s” in tenant “%(tenant)s” (in this file or stored).")
            return [("application", message % {"app": pair[1], "tenant": pair[0]})]
        app = Application.objects.filter(tenant__name=pair[0], name=pair[1]).first()
        if app is None:
            tenant = Tenant.objects.filter(name=pair[0]).first()
            if tenant is None:
                return []  # tenant and application are new in this file: nothing stored to ask
            app = Application(tenant=tenant, client_id="in this file")
        problems = model_problems(app, values["model"], values["scope"])
        return [(name, str(message)) for name, message in problems]

    def _set(self, grant, values: dict, attrs) -> None:
        for attr in attrs:
            if attr in ("tenant_name", "application_name"):
                continue
            if attr == "mailboxes":
                grant.mailboxes = values["mailboxes"]
            elif attr == "expires_on":
                day = values["expires_on"]
                grant.expires_at = timezone.make_aware(
                    timezone.datetime(day.year, day.month, day.day, 23, 59, 59)
                )
            else:
                setattr(grant, attr, values[attr])

    def create(self, values: dict, source: dict):
        app = Application.objects.get(tenant__name=values["tenant_name"],
                                      name=values["application_name"])  # fmt: skip
        grant = Grant(application=app, source=Source.CONFIGURATION, status=Grant.Status.ACTIVE)
        self._set(grant, values, values)
        grant.save()
        record("grant.create", target=grant, tenant=app.tenant,
               after={**snapshot(grant), **_source(source)})  # fmt: skip
        return grant

    def update(self, grant, values: dict, changed: list[str], source: dict):
        before = snapshot(grant)
        attrs = [self.field(name).attr for name in changed]
        self._set(grant, values, attrs)
        grant.save()
        old, new = changes(before, snapshot(grant))
        record("grant.update", target=grant, tenant=grant.tenant, before=old,
               after={**new, **_source(source)})  # fmt: skip
        return grant

    def delete(self, grant, source: dict):
        # The record of access that existed is kept: pruning ends the grant, it does not erase it.
        lifecycle.transition(grant.pk, Grant.Status.REVOKED, note="removed from configuration")

    def export(self, tenant: str | None) -> list[dict]:
        qs = Grant.objects.filter(source=Source.CONFIGURATION, status__in=Grant.LIVE)
        qs = qs.select_related("application__tenant").order_by(
            "application__tenant__name", "application__name", "model", "role"
        )
        if tenant is not None:
            qs = qs.filter(application__tenant__name=tenant)
        rows = []
        for grant in qs:
            row = {"tenant": grant.tenant.name, "application": grant.application.name}
            for f in self.fields[2:]:
                value = getattr(grant, f.attr)
                if f.name == "expires_on":
                    row[f.name] = value.isoformat()
                elif value != f.default:
                    row[f.name] = list(value) if f.type == "list" else value
            rows.append(row)
        return rows


register(ApplicationKind())
register(GrantKind())
