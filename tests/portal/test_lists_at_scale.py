"""The dashboard and the list pages at scale: a constant number of queries however many tenants,
runs, relay clients and grants there are, a page of rows at a time with a pager that says which,
and tiles that count everything while they list a few. (Timings: bench/pages.py.)"""

import re

import pytest
from django.utils import timezone

from portal.grants import readiness
from portal.grants.models import Application, Grant
from portal.integrations.models import FeatureStatus, Integration
from portal.lib.access import Role
from portal.relay.models import RelayClient
from portal.runs.models import TENANT_PROBES, ProbeRun, RunStatus, Schedule
from portal.tenants.models import Tenant
from tests.conftest import make_user
from tests.grants.conftest import make_grant
from tests.relay.helpers import make_client, make_tenant

pytestmark = pytest.mark.django_db


def _grow(n: int) -> None:
    """``n`` more tenants, each with what the lists show: runs (one failing, one certificate
    close to expiry), a schedule, relay clients, applications with grants, an integration."""
    requester = make_user(f"requester-{Tenant.objects.count()}", Role.OPERATOR)
    now = timezone.now()
    for _ in range(n):
        tenant = make_tenant(f"Tenant {Tenant.objects.count():03d}", client_secret="s3cret")
        for probe in TENANT_PROBES:
            ProbeRun.objects.create(tenant=tenant, probe=probe, status=RunStatus.PASS)
        ProbeRun.objects.create(tenant=tenant, probe="smtp", status=RunStatus.FAIL)
        ProbeRun.objects.create(tenant=tenant, probe="tls", status=RunStatus.WARN,
                                cert_days_left=9, target="mail:443")  # fmt: skip
        Schedule.objects.create(tenant=tenant, probe="smtp", next_due=now)
        make_client(tenant, "Fax", kind="fax", password="pw", rotated_at=now)
        make_client(tenant, "Modern", method="smtp_oauth")
        app = Application.objects.create(tenant=tenant, name="Archiver", owner="Records",
                                         client_id="app-1", protocols=["ews", "graph"],
                                         ews_uses=["mail_read"])  # fmt: skip
        make_grant(app, requester, status=Grant.Status.ACTIVE, last_outcome="broken")
        make_grant(app, requester)
        integration = Integration.objects.create(tenant=tenant, name="Farm",
                                                 product="sharepoint_2019",
                                                 features=["site_mailboxes"])  # fmt: skip
        FeatureStatus.objects.create(integration=integration, feature="site_mailboxes",
                                     status="red", checked_at=now, since=now)  # fmt: skip


def _count(client, url, django_assert_max_num_queries) -> int:
    headers = {"HTTP_HX_REQUEST": "true"} if "tiles" in url else {}  # as the dashboard asks
    with django_assert_max_num_queries(40) as captured:
        assert client.get(url, **headers).status_code == 200
    return len(captured.captured_queries)


URLS = ["/", "/tenants/", "/tenants/{pk}/", "/connectivity/", "/connectivity/tiles/",
        "/connectivity/tenants/{pk}/", "/relay/", "/relay/?tenant={pk}", "/relay/tiles/",
        "/grants/", "/grants/tiles/", "/grants/ews-retirement/", "/integrations/",
        "/integrations/tiles/"]  # fmt: skip


def test_pages_keep_their_query_count_past_a_page_of_rows(
    admin_client, django_assert_max_num_queries
):
    _grow(2)
    first = Tenant.objects.order_by("name").first().pk
    urls = [u.format(pk=first) for u in URLS]
    admin_client.get("/")  # the first request of a session does one-off work
    few = {u: _count(admin_client, u, django_assert_max_num_queries) for u in urls}
    _grow(58)  # past every page size (50 rows, 25 tenants in the grid, 20 in readiness)
    many = {u: _count(admin_client, u, django_assert_max_num_queries) for u in urls}
    assert many == few


def test_the_pager_names_the_rows_shown_and_keeps_the_filter(viewer_client):
    tenant, other = make_tenant("Contoso"), make_tenant("Fabrikam")
    for i in range(60):
        make_client(tenant, f"Device {i:02d}")
    make_client(other, "Elsewhere")
    first = viewer_client.get(f"/relay/?tenant={tenant.pk}").content.decode()
    assert "Showing 1–50 of 60" in first and "Elsewhere" not in first
    assert f'href="?tenant={tenant.pk}&amp;page=2"' in first and 'rel="prev"' not in first
    second = viewer_client.get(f"/relay/?tenant={tenant.pk}&page=2").content.decode()
    assert "Showing 51–60 of 60" in second and "Device 59" in second and "Device 00" not in second
    assert f'href="?tenant={tenant.pk}&amp;page=1"' in second and 'rel="next"' not in second
    # Not a page number, or past the end: the nearest page, never an error.
    assert "Showing 1–50" in viewer_client.get("/relay/?page=abc").content.decode()
    assert "Showing 51–61" in viewer_client.get("/relay/?page=999").content.decode()
    assert "Showing 51–61" in viewer_client.get("/relay/?page=-3").content.decode()


def test_one_page_shows_no_pager(viewer_client):
    make_client(make_tenant(), "Fax")
    assert "Showing" not in viewer_client.get("/relay/").content.decode()
    assert "Showing" not in viewer_client.get("/tenants/").content.decode()


def test_grants_and_applications_page_on_their_own(admin_client, operator_user):
    tenant = make_tenant()
    apps = [Application.objects.create(tenant=tenant, name=f"App {i:02d}", owner="o")
            for i in range(55)]  # fmt: skip
    for app in apps:
        make_grant(app, operator_user)
    html = admin_client.get("/grants/?page=2").content.decode()
    assert "Showing 51–55 of 55" in html  # grants, page 2
    assert "Showing 1–50 of 55" in html  # applications, still page 1
    assert 'href="?page=2&amp;apps=2"' in html  # the applications' next page keeps the grants'


def test_overview_grid_pages_tenants_and_lists_their_schedules(viewer_client):
    now = timezone.now()
    for i in range(30):
        tenant = make_tenant(f"Tenant {i:02d}")
        Schedule.objects.create(tenant=tenant, probe="dns", next_due=now)
        ProbeRun.objects.create(tenant=tenant, probe="dns", status=RunStatus.PASS)
    first = viewer_client.get("/connectivity/").content.decode()
    second = viewer_client.get("/connectivity/?page=2").content.decode()
    assert "Showing 1–25 of 30" in first and "Showing 26–30 of 30" in second
    rows = re.compile(r'<th scope="row"><a href="/tenants/\d+/">(Tenant \d+)</a>')
    assert rows.findall(first) == [f"Tenant {i:02d}" for i in range(25)]
    assert rows.findall(second) == [f"Tenant {i:02d}" for i in range(25, 30)]
    assert "Only those of the tenants on this page." in second
    assert second.count("every 15 min") == 5 and "Tenant 03</a> · Exchange DNS" not in second


def test_connectivity_tiles_count_every_newest_result_and_list_a_few(viewer_client):
    for i in range(9):
        tenant = make_tenant(f"Tenant {i}")
        ProbeRun.objects.create(tenant=tenant, probe="smtp", status=RunStatus.FAIL)
        ProbeRun.objects.create(tenant=tenant, probe="tls", status=RunStatus.PASS,
                                cert_days_left=5 + i, target=f"host{i}:443")  # fmt: skip
    # A failure followed by a pass, and an expiring certificate since renewed, are not counted.
    fixed = make_tenant("Fixed")
    ProbeRun.objects.create(tenant=fixed, probe="smtp", status=RunStatus.FAIL)
    ProbeRun.objects.create(tenant=fixed, probe="smtp", status=RunStatus.PASS)
    ProbeRun.objects.create(tenant=fixed, probe="tls", status=RunStatus.PASS, cert_days_left=3)
    ProbeRun.objects.create(tenant=fixed, probe="tls", status=RunStatus.PASS, cert_days_left=300)
    tile = viewer_client.get("/connectivity/tiles/", HTTP_HX_REQUEST="true").content.decode()
    assert '<p class="figure">9</p>' in tile
    assert tile.count("· SMTP submission</a>") == 6 and "Fixed" not in tile
    assert "9 certificates in all." in tile
    assert tile.count(" days left") == 6 and "host0:443</a> — 5 days left" in tile


def test_grants_tile_scores_are_the_readiness_pages_scores(viewer_client, operator_user):
    tenants = [make_tenant(f"T{i}") for i in range(4)]
    make_tenant("On-premises", kind="server")
    shapes = [
        (["ews"], ["mail_read"]),
        (["ews", "graph"], ["calendar"]),
        (["ews", "graph"], []),
        (["graph"], ["mail_read"]),
        (["ews", "graph"], ["tasks"]),
    ]
    for i, tenant in enumerate(tenants[:3]):
        for j, (protocols, uses) in enumerate(shapes[: i + 3]):
            Application.objects.create(tenant=tenant, name=f"A{j}", owner="o",
                                       protocols=protocols, ews_uses=uses)  # fmt: skip
    Application.objects.create(tenant=tenants[0], name="Old", owner="o", status="retired",
                               protocols=["ews", "graph"], ews_uses=["mail_read"])  # fmt: skip
    everyone = Tenant.objects.order_by("name")
    expected = [(r.tenant.pk, r.score) for r in readiness.for_tenants(everyone) if r.apps]
    assert [(t.pk, s) for t, s in readiness.scores(everyone)] == expected
    assert [s for _, s in expected] == [33, 33, 50]  # graph-only and retired apps left out
    tile = viewer_client.get("/grants/tiles/", HTTP_HX_REQUEST="true").content.decode()
    assert "T0: ready 33%" in tile and "T2: ready 50%" in tile and "T3" not in tile


def test_grants_tile_counts_every_grant_that_differs(viewer_client, operator_user):
    app = Application.objects.create(tenant=make_tenant(), name="Archiver", owner="o")
    for _ in range(8):
        make_grant(app, operator_user, status=Grant.Status.ACTIVE, last_outcome="broken")
    make_grant(app, operator_user, status=Grant.Status.REVOKED, last_outcome="broken")
    tile = viewer_client.get("/grants/tiles/", HTTP_HX_REQUEST="true").content.decode()
    assert '<p class="figure">8</p>' in tile and tile.count("— broken") == 6


def test_relay_tile_counts_in_sql_what_it_counted_before(viewer_client):
    first, second = make_tenant("Contoso"), make_tenant("Fabrikam")
    server = make_tenant("On-premises", kind="server")
    for i in range(10):
        make_client(first, f"Fax {i}", kind="fax")
    make_client(second, "Printer")
    make_client(second, "Modern", method="smtp_oauth")
    make_client(server, "Relay")
    tile = viewer_client.get("/relay/tiles/", HTTP_HX_REQUEST="true").content.decode()
    assert '<p class="figure">11</p>' in tile
    assert "Contoso: 10" in tile and "Fabrikam: 1" in tile and "On-premises" not in tile
    assert tile.count("→ Connector relay") == 8
    assert RelayClient.objects.count() == 13
