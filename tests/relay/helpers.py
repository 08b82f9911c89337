from portal.relay.models import RelayClient
from portal.tenants.models import Tenant

GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def make_tenant(name="Contoso", **extra) -> Tenant:
    fields = {"kind": "online", "cloud": "worldwide", "directory_id": GUID,
              "accepted_domains": ["contoso.com"], **extra}  # fmt: skip
    return Tenant.objects.create(name=name, **fields)


def form_data(tenant, **change) -> dict:
    data = {
        "tenant": tenant.pk, "name": "Scanner 3rd floor", "kind": "printer",
        "owner": "Facilities", "owner_email": "facilities@contoso.com",
        "location": "Building A, 3rd floor", "method": "smtp_auth",
        "source_ips_text": "192.0.2.10\r\n192.0.2.0/28",
        "sender_addresses_text": "scanner@contoso.com",
        "smtp_host": "", "smtp_port": "", "smtp_security": "", "rotation_days": 90, "notes": "",
    }  # fmt: skip
    data.update(change)
    return data


def make_client(tenant, name="Scanner", **extra) -> RelayClient:
    fields = {"kind": "printer", "owner": "Facilities", "owner_email": "facilities@contoso.com",
              "method": "smtp_auth", "sender_addresses": ["scanner@contoso.com"]}  # fmt: skip
    fields.update(extra)
    return RelayClient.objects.create(tenant=tenant, name=name, **fields)
