"""``integrations:`` in configuration as code: validated by the integration form with paths,
all-or-nothing, idempotent, audited like the pages, and export → apply → export identical."""

import pytest
import yaml

from portal.audit.models import AuditEvent
from portal.configuration import exporter
from portal.integrations.models import Integration
from portal.tenants.models import Tenant
from tests.configuration.helpers import apply

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _password(monkeypatch):
    monkeypatch.setenv("TENANT_ONPREM_PASSWORD", "onprem-password-1")


DOC = b"""\
version: 1
tenants:
  - name: OnPrem
    kind: server
    ews_url: https://mail.contoso.com/EWS/Exchange.asmx
    auth_method: basic
    username: svc-portal
    password_env: TENANT_ONPREM_PASSWORD
integrations:
  - tenant: OnPrem
    name: Lync pool
    product: lync_2013
    features: [ews_calendar, im_presence, voicemail]
    pool_fqdn: Pool.Contoso.com
    sip_domain: contoso.com
    account: svc-lync@contoso.com
    owner: UC team
    notify_emails: [uc@contoso.com]
  - tenant: OnPrem
    name: Farm
    product: sharepoint_2019
    features: [site_mailboxes, s2s_oauth]
    web_app_url: https://sharepoint.contoso.com
    site_mailbox: projects@contoso.com
"""


def test_apply_creates_is_idempotent_and_audited():
    result = apply(DOC)
    assert result.applied, result.errors
    assert result.summary() == {"create": 3, "update": 0, "delete": 0, "unchanged": 0}
    lync = Integration.objects.get(name="Lync pool")
    assert lync.pool_fqdn == "pool.contoso.com"  # the form's host rules
    assert lync.features == ["ews_calendar", "im_presence", "voicemail"]
    assert lync.notify_emails == ["uc@contoso.com"] and lync.pool_port == 5061
    assert AuditEvent.objects.filter(action="integration.create").count() == 2
    event = AuditEvent.objects.filter(action="integration.create").first()
    assert event.after["applied_from"]["via"] == "test"
    again = apply(DOC)
    assert again.changes == [] and again.audit_events == 0
    changed = apply(DOC.replace(b"owner: UC team", b"owner: Voice team"))
    assert changed.summary()["update"] == 1
    update = AuditEvent.objects.get(action="integration.update")
    assert update.before == {"owner": "UC team"}


@pytest.mark.parametrize("change, path, words", [
    (b"pool_fqdn: Pool.Contoso.com", "integrations[0].pool_fqdn", "not a valid host name"),
    (b"features: [ews_calendar, im_presence, voicemail]", "integrations[0].features",
     "does not use"),
    (b"product: lync_2013", "integrations[0].product", "not one of the available choices"),
    (b"tenant: OnPrem\n    name: Farm", "integrations[1].tenant", "No tenant named"),
])  # fmt: skip
def test_one_bad_record_changes_nothing(change, path, words):
    bad = {
        b"pool_fqdn: Pool.Contoso.com": b"pool_fqdn: 'pool contoso'",
        b"features: [ews_calendar, im_presence, voicemail]": b"features: [site_mailboxes]",
        b"product: lync_2013": b"product: lync_2099",
        b"tenant: OnPrem\n    name: Farm": b"tenant: Nowhere\n    name: Farm",
    }[change]
    result = apply(DOC.replace(change, bad))
    assert not result.applied
    assert any(p == path and words in message for p, message in result.errors), result.errors
    assert not Tenant.objects.exists() and not Integration.objects.exists()
    assert not AuditEvent.objects.exists()


def test_export_apply_export_is_identical():
    assert apply(DOC).applied
    first = exporter.export()
    loaded = yaml.safe_load(first)
    assert [i["name"] for i in loaded["integrations"]] == ["Farm", "Lync pool"]
    assert "pool_port" not in loaded["integrations"][1]  # defaults omitted
    Integration.objects.all().delete()
    Tenant.objects.all().delete()
    assert apply(first.encode()).summary()["create"] == 3
    assert exporter.export() == first
    only = yaml.safe_load(exporter.export(tenant="OnPrem"))
    assert len(only["integrations"]) == 2
