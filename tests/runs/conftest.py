import pytest

from portal.tenants.models import Tenant
from portal.tenants.sandbox import register_sandbox_tenant, sandbox_tenant_fields


@pytest.fixture
def sandbox_tenant(db, sandbox_exchange):
    return register_sandbox_tenant(sandbox_exchange.info)[0]


@pytest.fixture
def basic_smtp_tenant(db, sandbox_exchange):
    """An Exchange Server-style tenant that submits with a mailbox's own password."""
    info = sandbox_exchange.info
    mailbox = info["mailboxes"][1]
    fields = sandbox_tenant_fields(info)
    fields.update(kind=Tenant.Kind.SERVER, auth_method=Tenant.Auth.BASIC, client_id="",
                  client_secret="", username=mailbox["address"], password=mailbox["password"],
                  test_mailbox=mailbox["address"])  # fmt: skip
    return Tenant.objects.create(name="On-prem relay", **fields)
