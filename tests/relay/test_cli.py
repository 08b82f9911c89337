"""`manage.py relay test` as scripts run it: a subprocess, one JSON object, exit codes 0/1/2."""

import json
import os
import subprocess
import sys

import pytest
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.relay.models import RelayClient
from portal.tenants.models import Tenant
from tests.conftest import ROOT, _database_url
from tests.connectivity.probe_certs import make_ca, make_leaf, server_context
from tests.connectivity.probe_servers import PASSWORD, USER, smtp_server
from tests.relay.helpers import make_client

pytestmark = pytest.mark.django_db(transaction=True)


def relay(*args):
    env = {**os.environ, "DATABASE_URL": _database_url()}
    return subprocess.run(
        [sys.executable, "manage.py", "relay", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def lab(tmp_path):
    root = make_ca("Relay CLI Root")
    ctx = server_context(make_leaf(root, "localhost"), str(tmp_path))

    def make(port, name="MFP", tenant="Lab", **fields):
        t, _ = Tenant.objects.get_or_create(name=tenant, defaults={
            "kind": "server", "smtp_host": "localhost", "smtp_port": port,
            "smtp_security": "starttls", "ca_bundle": root.pem().decode(),
            "test_mailbox": "bob@contoso.test", "accepted_domains": ["contoso.test"],
        })  # fmt: skip
        values = {"username": USER, "password": PASSWORD, "rotated_at": timezone.now(),
                  "sender_addresses": [USER], **fields}  # fmt: skip
        return make_client(t, name, **values)

    return ctx, make


def test_json_success_exit_0(lab):
    ctx, make = lab
    with smtp_server(tls_context=ctx) as (port, handler):
        make(port)
        result = relay("test", "MFP", "--tenant", "Lab", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"client", "tenant", "ok", "message_id", "steps"}
    assert (out["client"], out["tenant"], out["ok"]) == ("MFP", "Lab", True)
    assert out["steps"][-1]["name"] == "Send test message"
    assert out["steps"][-1]["status"] == "pass"
    assert all(set(s) == {"name", "status", "detail", "hint", "ms"} for s in out["steps"])
    assert len(handler.messages) == 1 and PASSWORD not in result.stdout
    # The id is the test message's own Message-ID header: what message trace searches for.
    assert out["message_id"] and f"<{out['message_id']}>".encode() in handler.messages[0]
    assert RelayClient.objects.get().last_success_at is not None
    assert AuditEvent.objects.filter(action="relay.test_send", result="success").count() == 1


def test_wrong_password_exit_1(lab):
    ctx, make = lab
    with smtp_server(tls_context=ctx) as (port, handler):
        make(port, password="wrong-password-123")
        result = relay("test", "MFP", "--json")
    assert result.returncode == 1
    out = json.loads(result.stdout)
    assert out["ok"] is False and out["message_id"] is None
    assert next(s for s in out["steps"] if s["name"] == "Authenticate")["status"] == "fail"
    assert handler.messages == []


def test_usage_errors_exit_2(lab):
    _ctx, make = lab
    assert relay("test", "Nobody", "--json").returncode == 2
    make(2525)
    make(2525, tenant="Other")
    ambiguous = relay("test", "MFP", "--json")
    assert ambiguous.returncode == 2 and "--tenant" in ambiguous.stderr
    bad = relay("test", "MFP", "--tenant", "Lab", "--to", "x@y.z\r\nBcc: q@evil.test", "--json")
    assert bad.returncode == 2 and "refused" in bad.stderr
    assert not AuditEvent.objects.filter(action="relay.test_send").exists()
