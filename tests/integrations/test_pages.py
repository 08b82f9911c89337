"""Integration records and pages: Operator+ changes (one audit event each), Viewer reads, bad
input refused with words and nothing saved; the matrix, the timeline and the tenant's plan page."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.integrations.models import CheckResult, FeatureStatus, Integration, TenantProfile
from portal.tenants.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(db):
    return Tenant.objects.create(name="Contoso", kind=Tenant.Kind.ONLINE,
                                 accepted_domains=["contoso.com"],
                                 test_mailbox="room@contoso.com")  # fmt: skip


def _form(tenant, **over):
    data = {"tenant": tenant.pk, "name": "Lync pool", "product": "lync_2013",
            "features": ["ews_calendar", "im_presence"], "pool_fqdn": "Pool.Contoso.com",
            "pool_port": "5061", "edge_fqdn": "", "sip_domain": "contoso.com",
            "account": "svc-lync@contoso.com", "owner": "UC team", "notes": "",
            "notify_emails_text": "uc@contoso.com, ops@contoso.com", "web_app_url": "",
            "site_mailbox": "", "test_mailbox": ""}  # fmt: skip
    data.update(over)
    return data


def test_operator_adds_edits_and_deletes_with_one_audit_event_each(operator_client, tenant):
    response = operator_client.post("/integrations/new/", _form(tenant))
    integration = Integration.objects.get()
    assert response.status_code == 302 and response.url == f"/integrations/{integration.pk}/"
    assert integration.pool_fqdn == "pool.contoso.com"  # one host check, normalised
    assert integration.features == ["ews_calendar", "im_presence"]
    assert integration.notify_emails == ["uc@contoso.com", "ops@contoso.com"]
    assert AuditEvent.objects.filter(action="integration.create").count() == 1

    response = operator_client.post(f"/integrations/{integration.pk}/edit/",
                                    _form(tenant, owner="Voice team"))  # fmt: skip
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="integration.update")
    assert event.before == {"owner": "UC team"} and event.after == {"owner": "Voice team"}

    response = operator_client.post(f"/integrations/{integration.pk}/delete/")
    assert response.status_code == 302 and not Integration.objects.exists()
    assert AuditEvent.objects.filter(action="integration.delete").count() == 1


@pytest.mark.parametrize("field, value, words", [
    ("pool_fqdn", "pool\r\nevil", "line breaks"),
    ("pool_fqdn", "1e309", "neither a host name"),
    ("pool_port", "70000", "1 to 65535"),
    ("web_app_url", "http://sp.contoso.com", "https://"),
    ("features", ["site_mailboxes"], "does not use"),
    ("notify_emails_text", "not-an-address", "not an email address"),
    ("account", "svc\u202eevil", "line breaks"),
])  # fmt: skip
def test_bad_input_is_refused_in_words_and_nothing_changes(operator_client, tenant, field, value,
                                                          words):  # fmt: skip
    response = operator_client.post("/integrations/new/", _form(tenant, **{field: value}))
    assert response.status_code == 200
    assert words in response.content.decode()
    assert not Integration.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="integration.").exists()


def test_viewer_reads_but_cannot_change(viewer_client, tenant):
    integration = Integration.objects.create(
        tenant=tenant, name="Farm", product="sharepoint_2016", features=["s2s_oauth"]
    )
    assert viewer_client.get("/integrations/").status_code == 200
    assert viewer_client.get(f"/integrations/{integration.pk}/").status_code == 200
    assert viewer_client.get(f"/integrations/tenants/{tenant.pk}/").status_code == 200
    for url in (
        "/integrations/new/",
        f"/integrations/{integration.pk}/edit/",
        f"/integrations/{integration.pk}/delete/",
        f"/integrations/{integration.pk}/check/",
        f"/integrations/tenants/{tenant.pk}/check/",
        f"/integrations/tenants/{tenant.pk}/",
    ):
        assert viewer_client.post(url, _form(tenant)).status_code == 403
    assert Integration.objects.get().name == "Farm"
    assert not TenantProfile.objects.exists()
    assert viewer_client.get("/integrations/999/").status_code == 404


def test_matrix_shows_status_last_check_and_failing_step(viewer_client, tenant):
    integration = Integration.objects.create(
        tenant=tenant,
        name="Lync pool",
        product="lync_2013",
        features=["ews_calendar", "im_presence"],
    )
    now = timezone.now()
    FeatureStatus.objects.create(integration=integration, feature="im_presence", status="red",
                                 step="Certificate validity", detail="expired 2 days ago",
                                 hint="Renew it.", checked_at=now, since=now)  # fmt: skip
    html = viewer_client.get("/integrations/").content.decode()
    assert "Lync pool" in html and "Lync Server 2013" in html
    assert "Not working" in html and "Certificate validity" in html
    assert "not checked yet" in html  # ews_calendar has no result yet
    detail = viewer_client.get(f"/integrations/{integration.pk}/").content.decode()
    assert "Out of support" in detail and "Microsoft Teams" in detail  # product lifecycle
    assert "Set-CsOAuthConfiguration -ExchangeAutodiscoverUrl" in detail
    assert "Renew it." in detail


def test_timeline_has_thirty_labelled_days_and_the_worst_status_per_day(viewer_client, tenant):
    integration = Integration.objects.create(
        tenant=tenant, name="Farm", product="sharepoint_2019", features=["s2s_oauth", "ediscovery"]
    )
    today = timezone.now()
    for days_ago, status in ((3, "green"), (3, "red"), (1, "amber"), (40, "red")):
        CheckResult.objects.create(integration=integration, feature="s2s_oauth", status=status,
                                   checked_at=today - timedelta(days=days_ago))  # fmt: skip
    html = viewer_client.get(f"/integrations/{integration.pk}/").content.decode()
    svg = re.search(r"<svg class=\"timeline-svg\".*?</svg>", html, re.S).group(0)
    assert len(re.findall(r"<rect class=\"day ", svg)) == 2 * 30  # two features × 30 days
    assert svg.count("day-red") == 1 and svg.count("day-amber") == 1  # the 40-day-old one is out
    assert svg.count("day-green") == 0  # red wins over green on the same day
    first = timezone.localdate() - timedelta(days=29)
    assert f">{first:%Y-%m-%d}</text>" in svg  # the first day labelled with its year
    assert f">{timezone.localdate():%m-%d}</text>" in svg
    assert len(re.findall(r"<text x=\"[\d.]+\" y=\"\d+\" text-anchor", svg)) >= 5


def test_tenant_page_records_plan_and_version_and_shows_availability(operator_client):
    tenant = Tenant.objects.create(name="On-prem", kind=Tenant.Kind.SERVER)
    url = f"/integrations/tenants/{tenant.pk}/"
    response = operator_client.post(url, {"plan": "exchange_server",
                                          "exchange_version": "exchange_2019",
                                          "cumulative_update": "CU15"})  # fmt: skip
    assert response.status_code == 302
    profile = TenantProfile.objects.get(tenant=tenant)
    assert profile.version_source == "entered"
    assert AuditEvent.objects.filter(action="tenant.profile_update").count() == 1
    html = operator_client.get(url).content.decode()
    assert "Exchange Server 2019" in html and "Out of support" in html and "2025-10-14" in html
    assert "Exchange Server SE" in html  # the recommended path
    assert "this tenant" in html and "Feature availability by plan" in html
    bad = operator_client.post(url, {"plan": "nonsense", "exchange_version": "",
                                     "cumulative_update": ""})  # fmt: skip
    assert bad.status_code == 400
    assert TenantProfile.objects.get(tenant=tenant).plan == "exchange_server"


def test_nav_links_to_the_integrations_page(viewer_client):
    html = viewer_client.get("/").content.decode()
    assert 'href="/integrations/"' in html and "/area/integrations/" not in html
    tiles = viewer_client.get("/integrations/tiles/", HTTP_HX_REQUEST="true").content.decode()
    assert "No SharePoint or Skype for Business integration recorded yet." in tiles


def test_a_feature_taken_off_no_longer_counts_on_the_dashboard(viewer_client, tenant):
    integration = Integration.objects.create(tenant=tenant, name="Pool", product="sfb_2019",
                                             features=["im_presence"])  # fmt: skip
    now = timezone.now()
    FeatureStatus.objects.create(integration=integration, feature="im_presence", status="red",
                                 step="TCP connect", checked_at=now, since=now)  # fmt: skip
    tiles = viewer_client.get("/integrations/tiles/", HTTP_HX_REQUEST="true").content.decode()
    assert "features not working" in tiles
    Integration.objects.filter(pk=integration.pk).update(features=["ews_calendar"])
    tiles = viewer_client.get("/integrations/tiles/", HTTP_HX_REQUEST="true").content.decode()
    assert "features not working" not in tiles
