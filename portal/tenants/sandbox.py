"""Register the bundled sandbox Exchange as a tenant, so every feature can be tried offline.

Every test of the tenant has a real peer in the sandbox: EWS, Autodiscover, MAPI, TLS and SMTP
on its HTTPS/SMTP ports, IMAP4 and POP3 on theirs, and DNS from its own responder (the tenant's
"DNS server for tests").
"""

from pathlib import Path

from django.db import transaction

from portal.audit.api import changes, record, snapshot
from portal.tenants.forms import TenantForm
from portal.tenants.models import Tenant

SANDBOX_NAME = "Sandbox"


def sandbox_tenant_fields(info: dict) -> dict:
    """Tenant fields for a running sandbox, from the JSON line it prints on start."""
    return {
        "kind": Tenant.Kind.ONLINE,
        "cloud": Tenant.Cloud.CUSTOM,
        "directory_id": info["tenant_id"],
        "accepted_domains": [info["domain"]],
        "ews_url": info["ews_url"],
        "autodiscover_url": info["autodiscover_pox_url"],
        "mapi_url": info["mapi_url"],
        "token_url": info["token_url"],
        "smtp_host": info["smtp_host"],
        "smtp_port": info["smtp_port"],
        "smtp_security": Tenant.Security.STARTTLS,
        # The sandbox serves IMAP4/POP3 with STARTTLS and DNS for its domain on loopback.
        "imap_host": info["smtp_host"],
        "imap_port": info["imap_port"],
        "pop_host": info["smtp_host"],
        "pop_port": info["pop3_port"],
        "dns_server": _host_port(info["smtp_host"], info["dns_port"]),
        "auth_method": Tenant.Auth.OAUTH_SECRET,
        "client_id": info["app_client_id"],
        "client_secret": info["app_client_secret"],
        "test_mailbox": info["mailboxes"][0]["address"],
        "tls_verify": True,
        "ca_bundle": Path(info["ca_file"]).read_text(),
    }


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def as_form_stores(fields: dict, name: str, current: Tenant | None) -> dict:
    """``fields`` cleaned by the tenant form, as the tenant page and ``config apply`` store them.

    The form is the one place that normalises a tenant (a CA bundle without its trailing
    newline, hosts in lower case, ...); registering through it keeps an exported sandbox
    tenant "unchanged" when the export is applied again.
    """
    data = {key: value for key, value in fields.items() if key != "accepted_domains"}
    data.update(name=name, accepted_domains_text="\n".join(fields["accepted_domains"]))
    # A fresh instance (the stored secret must not stand in for the sandbox's own); its pk
    # keeps the unique-name check off the tenant being updated.
    instance = Tenant(pk=current.pk if current else None)
    instance._state.adding = current is None
    form = TenantForm(data=data, instance=instance)
    if not form.is_valid():  # the sandbox's own description: a bug, not a person's mistake
        raise ValueError(f"the sandbox tenant does not pass the tenant form: {form.errors!r}")
    cleaned = form.save(commit=False)
    return {key: getattr(cleaned, key) for key in fields}


@transaction.atomic
def register_sandbox_tenant(info: dict, name: str = SANDBOX_NAME) -> tuple[Tenant, bool]:
    """Create the sandbox tenant or bring it up to date; audited when anything changed."""
    tenant = Tenant.objects.select_for_update().filter(name=name).first()
    fields = as_form_stores(sandbox_tenant_fields(info), name, tenant)
    if tenant is None:
        tenant = Tenant.objects.create(name=name, **fields)
        record("tenant.create", target=tenant, tenant=tenant, after=snapshot(tenant))
        return tenant, True
    before = snapshot(tenant)
    secret_changed = tenant.client_secret != fields["client_secret"]
    for key, value in fields.items():
        setattr(tenant, key, value)
    tenant.save()
    old, new = changes(before, snapshot(tenant))
    if secret_changed:
        old["client_secret"], new["client_secret"] = "********", "******** (replaced)"
    if new:
        record("tenant.update", target=tenant, tenant=tenant, before=old, after=new)
    return tenant, False
