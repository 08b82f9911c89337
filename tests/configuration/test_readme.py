"""The README's worked examples are valid documents (with their secrets and CA supplied)."""

import re

import pytest
import trustme

from portal.tenants.models import Tenant
from tests.configuration.helpers import apply, rsa_pem
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


def _examples() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## Configuration as code")[1]
    section = section.split("\n## ")[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def test_readme_examples_apply(tmp_path, monkeypatch):
    sandbox, online = _examples()
    ca = trustme.CA().cert_pem.bytes().decode()
    placeholder = re.search(r"( +)-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n",
                            sandbox, re.S)  # fmt: skip
    indent = placeholder.group(1)
    real = "".join(indent + line + "\n" for line in ca.strip().splitlines())
    sandbox = sandbox.replace(placeholder.group(0), real)
    monkeypatch.setenv("TENANT_SANDBOX_CLIENT_SECRET", "sandbox-secret")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "woodgrove-portal.pem").write_text(rsa_pem())
    for example in (sandbox, online):
        plan = apply(example.encode(), base_dir=str(tmp_path))
        assert plan.applied, plan.errors
    woodgrove = Tenant.objects.get(name="Woodgrove Bank")
    assert woodgrove.auth_method == "oauth_cert" and "PRIVATE KEY" in woodgrove.certificate_pem
    assert Tenant.objects.get(name="Sandbox").schedules.get().probe == "smtp"
