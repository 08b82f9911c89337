"""The tenant `manage.py sandbox` registers survives `config export` then `config apply`.

The sandbox registers through the tenant form's cleaning, so what it stores is what the form
(and therefore ``config apply``) would store: the plan of its own export is "unchanged".
"""

import json

import pytest

from portal.audit.models import AuditEvent
from portal.tenants.models import Tenant
from tests.configuration.test_cli import config
from tests.tenants.test_sandbox_command import _start, _stop

pytestmark = pytest.mark.django_db(transaction=True)


def test_sandbox_tenant_export_applies_unchanged(tmp_path):
    proc, _info = _start(tmp_path / "sandbox")
    try:
        tenant = Tenant.objects.get(name="Sandbox")
    finally:
        _stop(proc)
    assert tenant.ca_bundle.startswith("-----BEGIN CERTIFICATE-----")
    assert tenant.ca_bundle == tenant.ca_bundle.strip()  # as the form stores it
    exported = tmp_path / "portal.yaml"
    assert config("export", "-o", str(exported)).returncode == 0
    assert "client_secret_env: TENANT_SANDBOX_CLIENT_SECRET" in exported.read_text()
    env = {"TENANT_SANDBOX_CLIENT_SECRET": tenant.client_secret}
    events = AuditEvent.objects.count()

    check = config("apply", str(exported), "--check", "--json", env=env)
    assert check.returncode == 0, check.stderr
    plan = json.loads(check.stdout)
    assert plan["valid"], plan["errors"]
    assert plan["records"] == [{"table": "tenants", "name": "Sandbox",
                                "key": {"name": "Sandbox"}, "action": "unchanged",
                                "fields": []}]  # fmt: skip
    text = config("apply", str(exported), "--check", env=env)
    assert "0 to create, 0 to update, 0 to delete, 1 unchanged." in text.stdout, text.stdout

    applied = config("apply", str(exported), "--json", env=env)
    assert applied.returncode == 0, applied.stderr
    result = json.loads(applied.stdout)
    assert result["applied"] and result["audit_events"] == 0
    assert AuditEvent.objects.count() == events
    # Starting the sandbox again (same data folder, new ports) changes only what moved: the CA
    # bundle the form stored is what the sandbox stores too.
    proc, _info = _start(tmp_path / "sandbox")
    _stop(proc)
    update = AuditEvent.objects.get(seq__gt=AuditEvent.objects.order_by("seq")[events - 1].seq)
    assert update.action == "tenant.update"
    assert "ca_bundle" not in update.after and "ews_url" in update.after
