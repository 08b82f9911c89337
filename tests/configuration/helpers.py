"""Documents and helpers shared by the configuration tests."""

import textwrap

import trustme

from portal.audit.models import AuditEvent
from portal.configuration.planner import run
from portal.configuration.registry import Context

GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"

CONTOSO = f"""\
  - name: Contoso
    directory_id: {GUID}
    accepted_domains: [contoso.com, contoso.onmicrosoft.com]
    client_id: 11111111-2222-3333-4444-555555555555
    client_secret_env: TENANT_CONTOSO_CLIENT_SECRET
    test_mailbox: probe@contoso.com
"""

FABRIKAM = """\
  - name: Fabrikam
    kind: server
    ews_url: https://mail.fabrikam.example/EWS/Exchange.asmx
    smtp_host: mail.fabrikam.example
    smtp_port: 25
    auth_method: basic
    username: FABRIKAM\\svc-portal
    password_env: TENANT_FABRIKAM_PASSWORD
"""

SCHEDULES = """\
schedules:
  - tenant: Contoso
    test: smtp
    notify_emails: [ops@contoso.com]
  - tenant: Fabrikam
    test: ews
    interval_minutes: 60
"""

SECRETS = {
    "TENANT_CONTOSO_CLIENT_SECRET": "contoso-secret-value-1",
    "TENANT_FABRIKAM_PASSWORD": "fabrikam-password-1",
}


def doc(*tenants: str, schedules: str = "") -> bytes:
    return ("version: 1\ntenants:\n" + "".join(tenants) + schedules).encode()


def tenant(name: str, /, **extra) -> str:
    """A minimal valid Exchange Online tenant record with a client secret from TENANT_X."""
    lines = [
        f"  - name: {name}",
        f"    directory_id: {GUID}",
        "    client_id: 11111111-2222-3333-4444-555555555555",
        "    client_secret_env: TENANT_ANY_SECRET",
    ]
    lines += [f"    {key}: {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def apply(data: bytes, *, check: bool = False, prune: bool = False, **ctx):
    return run(data, Context(prune=prune, **ctx), apply=not check, source={"via": "test"})


def events() -> int:
    return AuditEvent.objects.count()


def rsa_pem() -> str:
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    leaf = ca.issue_cert("portal.contoso.com", key_type=trustme.KeyType.RSA)
    return leaf.private_key_and_cert_chain_pem.bytes().decode()


def indent(text: str, spaces: int) -> str:
    return textwrap.indent(text, " " * spaces)
