import pytest

from portal.tenants.models import Tenant


def sandbox_tenant_fields(info: dict) -> dict:
    with open(info["ca_file"]) as fh:
        ca = fh.read()
    return {
        "kind": Tenant.Kind.ONLINE, "cloud": Tenant.Cloud.CUSTOM, "directory_id": info["tenant_id"],
        "accepted_domains": [info["domain"]], "ews_url": info["ews_url"],
        "autodiscover_url": info["autodiscover_pox_url"], "mapi_url": info["mapi_url"],
        "token_url": info["token_url"], "smtp_host": info["smtp_host"],
        "smtp_port": info["smtp_port"], "smtp_security": "starttls",
        "auth_method": Tenant.Auth.OAUTH_SECRET, "client_id": info["app_client_id"],
        "client_secret": info["app_client_secret"],
        "test_mailbox": info["mailboxes"][0]["address"], "ca_bundle": ca,
    }  # fmt: skip


@pytest.fixture
def sandbox_tenant(db, sandbox_exchange):
    return Tenant.objects.create(name="Sandbox", **sandbox_tenant_fields(sandbox_exchange.info))


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
