"""`manage.py integrations check` as a script runs it: a subprocess, one JSON object per
integration × feature per line, exit 0 when nothing is red, 1 when something is, 2 for usage."""

import json
import os
import subprocess
import sys

import pytest
from probe_certs import DAY, NOW
from probe_servers import tls_server

from portal.audit.models import AuditEvent
from portal.integrations.models import FeatureStatus
from portal.tenants.models import Tenant
from tests.conftest import ROOT, _database_url

from .conftest import make_integration

pytestmark = pytest.mark.django_db(transaction=True)
KEYS = ["tenant", "integration", "feature", "status", "step", "detail", "hint"]


def integrations(*args):
    environ = {**os.environ, "DATABASE_URL": _database_url()}
    return subprocess.run([sys.executable, "manage.py", "integrations", *args], cwd=ROOT,
                          env=environ, capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.fixture
def lab(pki):
    return Tenant.objects.create(name="Lab", kind=Tenant.Kind.SERVER, ca_bundle=pki.ca_pem)


def test_json_lines_and_exit_0_when_nothing_is_red(lab, pki):
    with tls_server(pki.context("localhost")) as port:
        make_integration(lab, pool_fqdn="localhost", pool_port=port,
                         features=["im_presence", "voicemail"])  # fmt: skip
        result = integrations("check", "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [list(line) for line in lines] == [KEYS, KEYS]
    assert [(x["tenant"], x["integration"], x["feature"], x["status"]) for x in lines] == [
        ("Lab", "Skype pool", "im_presence", "green"),
        ("Lab", "Skype pool", "voicemail", "retired"),
    ]
    assert "Cloud Voicemail" in lines[1]["hint"]
    assert FeatureStatus.objects.count() == 2  # recorded like a job's checks
    assert AuditEvent.objects.filter(action="integration.check").count() == 1


def test_exit_1_when_a_check_is_red_with_step_and_hint(lab, pki):
    other = Tenant.objects.create(name="Other", kind=Tenant.Kind.SERVER)
    make_integration(other, name="Elsewhere", features=["voicemail"])
    expired = pki.context("localhost", not_before=NOW - 90 * DAY, not_after=NOW - 2 * DAY)
    with tls_server(expired) as port:
        make_integration(lab, pool_fqdn="localhost", pool_port=port)
        result = integrations("check", "--tenant", "Lab", "--json")
    assert result.returncode == 1, result.stderr
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert line["status"] == "red" and line["step"] == "Certificate validity"
    assert "expired" in line["detail"] and line["hint"]


def test_unknown_tenant_is_a_usage_error(lab):
    result = integrations("check", "--tenant", "Nope", "--json")
    assert result.returncode == 2
    assert "No tenant is named 'Nope'" in result.stderr
    assert result.stdout == ""
