"""`manage.py config` as scripts run it: a subprocess, its exit codes and its one JSON object."""

import getpass
import json
import os
import subprocess
import sys

import pytest

from portal.audit.models import AuditEvent
from portal.tenants.models import Tenant
from tests.configuration.helpers import CONTOSO, FABRIKAM, SCHEDULES, SECRETS, doc, tenant
from tests.conftest import ROOT, _database_url

pytestmark = pytest.mark.django_db(transaction=True)


def config(*args, env=None, stdin=None):
    environ = {**os.environ, "DATABASE_URL": _database_url(), **SECRETS, **(env or {})}
    return subprocess.run(
        [sys.executable, "manage.py", "config", *args], cwd=ROOT, env=environ, input=stdin,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_apply_check_json_then_apply_then_idempotent(tmp_path):
    path = tmp_path / "portal.yaml"
    path.write_bytes(doc(CONTOSO, FABRIKAM, schedules=SCHEDULES))
    check = config("apply", str(path), "--check", "--json")
    assert check.returncode == 0, check.stderr
    plan = json.loads(check.stdout)
    assert (plan["valid"], plan["applied"], plan["errors"]) == (True, False, [])
    assert plan["summary"] == {"create": 4, "update": 0, "delete": 0, "unchanged": 0}
    assert plan["records"][0] == {
        "table": "tenants",
        "name": "Contoso",
        "key": {"name": "Contoso"},
        "action": "create",
        "fields": [],
    }
    assert not Tenant.objects.exists()

    applied = config("apply", str(path), "--json")
    assert applied.returncode == 0, applied.stderr
    result = json.loads(applied.stdout)
    assert result["applied"] and result["audit_events"] == 4
    event = AuditEvent.objects.get(action="tenant.create", target_label="Contoso")
    assert event.after["applied_from"] == {
        "file_sha256": plan["file_sha256"], "via": "cli", "os_user": getpass.getuser(),
    }  # fmt: skip

    again = config("apply", str(path))
    assert again.returncode == 0
    assert "0 created, 0 updated, 0 deleted, 4 unchanged; 0 audit events" in again.stdout
    assert AuditEvent.objects.count() == 4


def test_errors_exit_1_with_paths_and_nothing_changes(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(doc(CONTOSO, tenant("Broken", smtp_port=0)))
    text = config("apply", str(path))
    assert text.returncode == 1
    assert "tenants[1].smtp_port: A port is a number from 1 to 65535." in text.stderr
    assert "nothing was changed" in text.stderr
    as_json = config("apply", str(path), "--json", env={"TENANT_ANY_SECRET": "x"})
    assert as_json.returncode == 1
    result = json.loads(as_json.stdout)
    assert result["errors"] == [
        {"path": "tenants[1].smtp_port", "message": "A port is a number from 1 to 65535."}
    ]
    assert not result["applied"] and not Tenant.objects.exists()
    literal = tmp_path / "literal.yaml"
    literal.write_text("tenants:\n  - name: X\n    password: hunter2\n")
    refused = config("apply", str(literal), "--json")
    assert refused.returncode == 1 and "password_env" in refused.stdout
    assert "hunter2" not in refused.stdout + refused.stderr


def test_usage_errors_exit_2(tmp_path):
    assert config("apply").returncode == 2
    assert config("frobnicate").returncode == 2
    assert config("apply", str(tmp_path / "missing.yaml")).returncode == 2
    assert config("apply", "x.yaml", "--force").returncode == 2
    assert config("export", "--tenant", "Nobody").returncode == 2


def test_export_round_trip_through_the_command_line(tmp_path):
    source = tmp_path / "source.yaml"
    source.write_bytes(doc(CONTOSO, FABRIKAM, schedules=SCHEDULES))
    assert config("apply", str(source)).returncode == 0
    exported = tmp_path / "exported.yaml"
    assert config("export", "-o", str(exported)).returncode == 0
    text = exported.read_text()
    assert "password_env: TENANT_FABRIKAM_PASSWORD" in text
    assert SECRETS["TENANT_FABRIKAM_PASSWORD"] not in text
    Tenant.objects.all().delete()
    assert config("apply", str(exported)).returncode == 0
    assert config("export").stdout == text
    one = config("export", "--tenant", "Contoso").stdout
    assert "Contoso" in one and "Fabrikam" not in one
    # Standard input works too, and the plan of the export against itself is empty.
    same = config("apply", "-", "--check", "--json", stdin=text)
    assert json.loads(same.stdout)["summary"]["unchanged"] == 4


def test_prune_from_the_command_line(tmp_path):
    full, smaller = tmp_path / "full.yaml", tmp_path / "smaller.yaml"
    full.write_bytes(doc(CONTOSO, FABRIKAM))
    smaller.write_bytes(doc(CONTOSO))
    config("apply", str(full))
    plan = json.loads(config("apply", str(smaller), "--check", "--prune", "--json").stdout)
    assert [r["action"] for r in plan["records"]] == ["unchanged", "delete"]
    assert Tenant.objects.count() == 2
    assert config("apply", str(smaller), "--prune").returncode == 0
    assert list(Tenant.objects.values_list("name", flat=True)) == ["Contoso"]


def test_schema_prints_json():
    result = config("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert {"version", "tenants", "schedules", "relay_clients"} <= set(schema["properties"])
