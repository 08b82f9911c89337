"""EWS retirement readiness: EWS apps, allow-list, EWSEnabled, days left, Graph, score."""

import datetime as dt

import pytest

from portal.audit.models import AuditEvent
from portal.grants import readiness
from portal.grants.models import Application, TenantEws
from portal.tenants.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def apps(tenant):
    ready = Application.objects.create(
        tenant=tenant, name="Migrating", owner="o", client_id="app-ready",
        protocols=["ews", "graph"], ews_uses=["mail_read", "auto_replies"],
    )  # fmt: skip
    legacy = Application.objects.create(tenant=tenant, name="Legacy", owner="o",
                                        client_id="app-legacy", protocols=["ews"])  # fmt: skip
    Application.objects.create(tenant=tenant, name="SMTP only", owner="o", client_id="x",
                               protocols=["smtp"])  # fmt: skip
    return ready, legacy


def test_days_left_to_the_final_shutdown():
    assert dt.date(2027, 4, 1) == readiness.SHUTDOWN
    assert readiness.days_left(dt.date(2026, 12, 1)) == 121


def test_readiness_score_allow_list_and_graph(tenant, apps):
    [row] = readiness.for_tenants([tenant])
    assert [a.application.name for a in row.apps] == ["Legacy", "Migrating"]  # EWS users only
    assert row.score == 50 and all(a.allowed for a in row.apps)
    migrating = row.apps[1]
    assert migrating.replacements == [("Read mail", "Mail.Read"),
        ("Automatic replies and mailbox settings", "MailboxSettings.ReadWrite")]  # fmt: skip
    TenantEws.objects.create(tenant=tenant, ews_enabled="true", allowed_app_ids=["app-ready"])
    [row] = readiness.for_tenants([tenant])
    assert [a.allowed for a in row.apps] == [False, True]
    TenantEws.objects.filter(tenant=tenant).update(ews_enabled="false")
    [row] = readiness.for_tenants([tenant])
    assert not row.ews_enabled and not any(a.allowed for a in row.apps)


def test_pages_show_readiness_and_server_tenants(viewer_client, tenant, apps):
    Tenant.objects.create(name="On-prem", kind="server", ews_url="https://mail.example/EWS/")
    page = viewer_client.get("/grants/ews-retirement/")
    assert page.status_code == 200
    assert "ready 50%" in page.text and "MailboxSettings.ReadWrite" in page.text
    assert "EWS stays available" in page.text
    tiles = viewer_client.get("/grants/tiles/")
    assert "ready 50%" in tiles.text


def test_admin_records_ews_settings_audited(admin_client, viewer_client, tenant, apps):
    data = {"ews_enabled": "true", "allowed_text": "APP-READY\nbad id!"}
    assert viewer_client.post(f"/grants/ews-retirement/{tenant.pk}/", data).status_code == 403
    response = admin_client.post(f"/grants/ews-retirement/{tenant.pk}/", data)
    assert response.status_code == 200 and "is not an application id" in response.text
    assert not TenantEws.objects.exists()
    data["allowed_text"] = "APP-READY"
    assert admin_client.post(f"/grants/ews-retirement/{tenant.pk}/", data).status_code == 302
    state = TenantEws.objects.get()
    assert state.allowed_app_ids == ["app-ready"] and state.ews_enabled == "true"
    [event] = AuditEvent.objects.filter(action="grant.ews_settings")
    assert event.after["allowed_app_ids"] == ["app-ready"]
    page = viewer_client.get("/grants/ews-retirement/")
    assert "not in EWSAllowedAppIDs" in page.text


def test_dashboard_loads_the_grants_tile(viewer_client, tenant, apps):
    assert 'hx-get="/grants/tiles/"' in viewer_client.get("/").text
