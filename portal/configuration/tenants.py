"""``tenants:`` — every field of the tenant form, matched by the tenant's name.

Audited exactly as the tenant pages audit: ``tenant.create`` / ``tenant.update`` (changed fields
only, a replaced secret shown as "******** (replaced)") / ``tenant.delete``, plus
``tenant.tls_verification_disabled`` when verification is turned off.
"""

from __future__ import annotations

import hashlib
import re

from portal.audit.api import changes, record, snapshot
from portal.audit.censor import CENSOR
from portal.configuration.registry import Context, RecordKind, fields_from_form, register
from portal.tenants.forms import SECRET_FIELDS, TenantForm
from portal.tenants.models import Tenant


def _form_order() -> list[str]:
    return [name for _legend, _note, names in TenantForm.FIELDSETS for name in names]


class TenantKind(RecordKind):
    table = "tenants"
    order = 10
    form_class = TenantForm
    key_fields = ("name",)
    env_prefix = "TENANT_"

    def __init__(self):
        self.fields = fields_from_form(
            TenantForm, _form_order(), lists={"accepted_domains_text": "\n"}, secrets=SECRET_FIELDS
        )

    def existing(self, ctx: Context) -> dict:
        qs = Tenant.objects.all()
        if ctx.lock:
            qs = qs.select_for_update()
        return {(t.name,): t for t in qs}

    def form_instance(self, key, ctx: Context):
        # A fresh instance: the form's "keep the stored secret" fallback must not apply, since
        # the file says what every secret is. Its pk keeps the unique-name check off itself.
        current = ctx.existing.get(self.table, {}).get(key)
        instance = Tenant(pk=current.pk if current else None)
        instance._state.adding = current is None
        return instance

    def create(self, values: dict, source: dict):
        tenant = Tenant(**values)
        tenant.save()
        record("tenant.create", target=tenant, tenant=tenant,
               after={**snapshot(tenant), "applied_from": source})  # fmt: skip
        if not tenant.tls_verify:
            record("tenant.tls_verification_disabled", target=tenant, tenant=tenant,
                   after={"applied_from": source})  # fmt: skip
        return tenant

    def update(self, tenant, values: dict, changed: list[str], source: dict):
        before = snapshot(tenant)
        verified_before = tenant.tls_verify
        attrs = [self.field(name).attr for name in changed]
        for attr in attrs:
            setattr(tenant, attr, values[attr])
        # Only the changed columns: saving an unchanged secret would encrypt it anew.
        tenant.save(update_fields=[*attrs, "updated_at"])
        old, new = changes(before, snapshot(tenant))
        for name in SECRET_FIELDS:
            if name in changed and values[name]:
                old.setdefault(name, CENSOR)
                new[name] = f"{CENSOR} (replaced)"
        record("tenant.update", target=tenant, tenant=tenant, before=old,
               after={**new, "applied_from": source})  # fmt: skip
        if verified_before and not tenant.tls_verify:
            record("tenant.tls_verification_disabled", target=tenant, tenant=tenant,
                   after={"applied_from": source})  # fmt: skip
        return tenant

    def delete(self, tenant, source: dict):
        record("tenant.delete", target=tenant, tenant=tenant, before=snapshot(tenant),
               after={"applied_from": source})  # fmt: skip
        tenant.delete()

    def export(self, tenant: str | None) -> list[dict]:
        tenants = list(Tenant.objects.order_by("name"))
        names = secret_env_names([t.name for t in tenants])
        rows = []
        for item in tenants:
            if tenant is not None and item.name != tenant:
                continue
            row = {}
            for f in self.fields:
                value = getattr(item, f.attr)
                if f.secret:
                    if value:
                        row[f"{f.name}_env"] = f"{names[item.name]}_{f.name.upper()}"
                elif f.name in self.key_fields or value != f.default:
                    row[f.name] = list(value) if f.type == "list" else value
            rows.append(row)
        return rows


def secret_env_names(names: list[str]) -> dict[str, str]:
    """TENANT_<NAME> for each tenant name, the same on every export of the same tenants.

    Names that reduce to the same letters ("Contoso Ltd", "Contoso-Ltd") or to none at all get
    a short hash of the full name so no two tenants share a variable.
    """
    slugs = {name: re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") for name in names}
    counts: dict[str, int] = {}
    for slug in slugs.values():
        counts[slug] = counts.get(slug, 0) + 1
    result = {}
    for name, slug in slugs.items():
        if not slug or counts[slug] > 1:
            digest = hashlib.sha256(name.encode()).hexdigest()[:6].upper()
            slug = f"{slug}_{digest}" if slug else digest
        result[name] = f"TENANT_{slug}"
    return result


register(TenantKind())
