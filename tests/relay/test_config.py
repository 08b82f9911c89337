"""relay_clients: in config apply/export: validated by the relay form, secrets by reference."""

import pytest
import yaml

from portal.audit.models import AuditEvent
from portal.configuration.exporter import export
from portal.configuration.planner import run
from portal.configuration.registry import Context
from portal.relay.models import RelayClient, Rotation

pytestmark = pytest.mark.django_db
GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
TENANT = f"""\
version: 1
tenants:
  - name: Contoso
    directory_id: {GUID}
    accepted_domains: [contoso.com]
    client_id: 11111111-2222-3333-4444-555555555555
    client_secret_env: TENANT_CONTOSO_SECRET
"""
RELAY = """\
relay_clients:
  - tenant: Contoso
    name: Scanner 3rd floor
    kind: printer
    owner: Facilities
    owner_email: facilities@contoso.com
    method: smtp_auth
    source_ips: [192.0.2.10]
    sender_addresses: [scanner@contoso.com]
    username: scanner@contoso.com
    password_env: RELAY_SCANNER_PASSWORD
"""


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("TENANT_CONTOSO_SECRET", "contoso-secret-1")
    monkeypatch.setenv("RELAY_SCANNER_PASSWORD", "Scanner-Password-77!")


def apply(text: str, **ctx):
    return run(text.encode(), Context(**ctx), apply=True, source={"via": "test"})


def test_apply_creates_clients_with_encrypted_credentials_and_is_idempotent():
    plan = apply(TENANT + RELAY)
    assert plan.errors == [], plan.errors
    client = RelayClient.objects.get()
    assert client.password == "Scanner-Password-77!" and client.source_ips == ["192.0.2.10/32"]
    assert client.rotated_at is not None and Rotation.objects.get().action == "set"
    event = AuditEvent.objects.get(action="relay.create")
    assert "Scanner-Password-77!" not in str(event.after)
    before = AuditEvent.objects.count()
    again = apply(TENANT + RELAY)
    assert again.errors == [] and AuditEvent.objects.count() == before  # nothing changed


def test_changed_password_is_a_rotation_without_its_value(monkeypatch):
    apply(TENANT + RELAY)
    monkeypatch.setenv("RELAY_SCANNER_PASSWORD", "Rotated-Password-88!")
    assert apply(TENANT + RELAY).errors == []
    assert RelayClient.objects.get().password == "Rotated-Password-88!"
    assert [r.action for r in Rotation.objects.all()] == ["rotated", "set"]
    event = AuditEvent.objects.get(action="relay.update")
    assert event.after["password"].startswith("********")  # named as changed, value censored
    assert "Rotated-Password-88!" not in str(event.after)


@pytest.mark.parametrize("bad,where", [
    ("    password: literal-secret\n", "relay_clients[0].password"),
    ("    location: \"a\\r\\nBcc: x@evil.test\"\n", "relay_clients[0].location"),
    ("    smtp_security: carrier_pigeon\n", "relay_clients[0].smtp_security"),
])  # fmt: skip
def test_bad_records_apply_nothing(bad, where):
    plan = apply(TENANT + RELAY.replace("    kind: printer\n", "    kind: printer\n" + bad))
    assert where in {path for path, _message in plan.errors}, plan.errors
    assert not RelayClient.objects.exists()


def test_unknown_tenant_is_refused():
    plan = apply(TENANT + RELAY.replace("tenant: Contoso", "tenant: Nowhere"))
    assert "relay_clients[0].tenant" in {path for path, _m in plan.errors}
    assert not RelayClient.objects.exists()


def test_export_names_the_secret_by_variable_and_round_trips():
    apply(TENANT + RELAY)
    text = export()
    assert "Scanner-Password-77!" not in text
    data = yaml.safe_load(text)
    [row] = data["relay_clients"]
    assert row["password_env"].startswith("RELAY_") and row["tenant"] == "Contoso"
    assert row["source_ips"] == ["192.0.2.10/32"] and "password" not in row
