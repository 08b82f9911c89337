"""`manage.py sandbox`: starts the sandbox Exchange and registers it, idempotently."""

import json
import os
import signal
import subprocess
import sys

from portal.audit.models import AuditEvent
from portal.runs import runner
from portal.runs.models import TENANT_PROBES, ProbeRun, RunStatus
from portal.tenants.models import Tenant
from tests.conftest import ROOT, _database_url


def _start(data_dir):
    env = {**os.environ, "DATABASE_URL": _database_url()}
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "sandbox", "--port", "0", "--smtp-port", "0",
         "--imap-port", "0", "--pop3-port", "0", "--dns-port", "0",
         "--data", str(data_dir), "--json"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return proc, json.loads(line)


def _stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


def test_sandbox_command_registers_a_working_tenant_once(transactional_db, tmp_path):
    proc, info = _start(tmp_path)
    try:
        assert "app_client_secret" not in info and "admin_token" not in info
        tenant = Tenant.objects.get(name="Sandbox")
        assert tenant.pk == info["tenant_id_in_portal"]
        assert tenant.client_secret and tenant.ews_url == info["ews_url"]
        assert tenant.dns_server == f"127.0.0.1:{info['dns_port']}"
        assert (tenant.imap_port, tenant.pop_port) == (info["imap_port"], info["pop3_port"])
        # Every test on the tenant's page passes against the running sandbox: nothing on a
        # fresh install's dashboard is red.
        for probe in TENANT_PROBES:
            run = runner.execute(ProbeRun.objects.create(tenant=tenant, probe=probe))
            assert run.status == RunStatus.PASS, (probe, run.steps)
            assert not any(s["status"] == "fail" for s in run.steps)
    finally:
        _stop(proc)
    proc, info = _start(tmp_path)  # same data folder: same CA, app and mailboxes
    _stop(proc)
    assert Tenant.objects.filter(name="Sandbox").count() == 1
    assert AuditEvent.objects.filter(action="tenant.create").count() == 1
