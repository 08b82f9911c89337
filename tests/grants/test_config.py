"""applications: and grants: in config apply/export: existing Exchange grants recorded as active."""

import datetime as dt

import pytest
import yaml
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.configuration.exporter import export
from portal.configuration.planner import run
from portal.configuration.registry import Context
from portal.grants.models import Application, Grant

pytestmark = pytest.mark.django_db
GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
EXPIRES = (timezone.localdate() + dt.timedelta(days=90)).isoformat()
DOC = f"""\
version: 1
tenants:
  - name: Contoso
    directory_id: {GUID}
    accepted_domains: [contoso.com]
    client_id: 11111111-2222-3333-4444-555555555555
    client_secret_env: TENANT_CONTOSO_SECRET
applications:
  - tenant: Contoso
    name: Archiver
    owner: Records team
    client_id: 22222222-3333-4444-5555-666666666666
    service_principal_id: 33333333-4444-5555-6666-777777777777
    protocols: [ews, graph]
    ews_uses: [mail_read]
    credential_secret_env: APP_ARCHIVER_SECRET
grants:
  - tenant: Contoso
    application: Archiver
    model: rbac
    role: Application EWS.AccessAsApp
    scope: list
    mailboxes: [records@contoso.com]
    justification: Existing archive access, recorded from Exchange
    ticket: CHG-7
    expires_on: "{EXPIRES}"
"""


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("TENANT_CONTOSO_SECRET", "contoso-secret-1")
    monkeypatch.setenv("APP_ARCHIVER_SECRET", "archiver-secret-9")


def apply(text: str, **ctx):
    return run(text.encode(), Context(**ctx), apply=True, source={"via": "test"})


def test_apply_records_active_grants_from_configuration_idempotently(viewer_client):
    plan = apply(DOC)
    assert plan.errors == [], plan.errors
    app = Application.objects.get()
    assert app.credential_secret == "archiver-secret-9" and app.source == "configuration"
    assert app.protocols == ["ews", "graph"] and app.ews_uses == ["mail_read"]
    grant = Grant.objects.get()
    assert (grant.status, grant.source, grant.mailboxes) == ("active", "configuration",
                                                              ["records@contoso.com"])  # fmt: skip
    assert grant.expires_on.isoformat() == EXPIRES
    created = AuditEvent.objects.get(action="grant.application.create")
    assert "archiver-secret-9" not in str(created.after)
    assert AuditEvent.objects.filter(action="grant.create").count() == 1
    before = AuditEvent.objects.count()
    assert apply(DOC).errors == [] and AuditEvent.objects.count() == before
    page = viewer_client.get("/grants/")
    assert "from configuration" in page.text


def test_export_round_trips_without_secrets(monkeypatch):
    apply(DOC)
    text = export()
    data = yaml.safe_load(text)
    [app] = data["applications"]
    assert app["credential_secret_env"].startswith("APP_") and "credential_secret" not in app
    [grant] = data["grants"]
    assert grant["expires_on"] == EXPIRES and grant["mailboxes"] == ["records@contoso.com"]
    before = AuditEvent.objects.count()
    monkeypatch.setenv(app["credential_secret_env"], "archiver-secret-9")
    monkeypatch.setenv(data["tenants"][0]["client_secret_env"], "contoso-secret-1")
    assert apply(text).errors == [] and AuditEvent.objects.count() == before


@pytest.mark.parametrize("change,error", [
    (("model: rbac", "model: impersonation"), "removed from Exchange Online"),
    (("application: Archiver\n    model", "application: Nope\n    model"), "No application"),
    ((f'expires_on: "{EXPIRES}"', 'expires_on: "2999-01-01"'), "at most 365 days"),
    ((f'expires_on: "{EXPIRES}"', 'expires_on: "soon"'), "YYYY-MM-DD"),
    (("protocols: [ews, graph]", "protocols: [ews, fax]"), "Unknown value"),
])  # fmt: skip
def test_bad_records_change_nothing(change, error):
    apply(DOC.split("applications:")[0])  # the tenant is stored; the rest comes in one file
    plan = apply(DOC.replace(*change))
    assert plan.errors and any(error in message for _path, message in plan.errors), plan.errors
    assert not Grant.objects.exists() and not Application.objects.exists()


def test_prune_revokes_instead_of_erasing():
    apply(DOC)
    head = DOC.split("grants:")[0]
    plan = apply(head + "grants: []\n", prune=True)
    assert plan.errors == [], plan.errors
    grant = Grant.objects.get()
    assert grant.status == "revoked"
    assert AuditEvent.objects.filter(action="grant.revoke").count() == 1
