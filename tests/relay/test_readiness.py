"""Basic SMTP AUTH readiness: the date, the recommended path per kind, the dashboard tile."""

import datetime as dt

import pytest

from portal.relay import readiness
from tests.relay.helpers import make_client, make_tenant

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fields,expected", [
    ({"kind": "printer", "supports_oauth": True}, "smtp_oauth"),
    ({"kind": "application", "internal_only": True}, "hve"),
    ({"kind": "fax", "source_ips": ["192.0.2.10/32"]}, "connector"),
    ({"kind": "appliance", "internal_only": True}, "direct_send"),
    ({"kind": "application"}, "smtp_oauth"),
    ({"kind": "printer"}, "connector"),
])  # fmt: skip
def test_recommended_path_per_kind(fields, expected):
    client = make_client(make_tenant(), **fields)
    result = readiness.assess(client)
    assert result.affected and result.recommended == expected
    assert result.stops_on == dt.date(2026, 12, 31)
    assert result.source == "Exchange Team blog, 2026-01-27"


def test_a_device_without_addresses_is_told_to_get_one_first():
    tenant = make_tenant()
    with_ip = readiness.assess(make_client(tenant, "A", source_ips=["192.0.2.1/32"]))
    without = readiness.assess(make_client(tenant, "B"))
    assert with_ip.recommended == without.recommended == "connector"
    assert "fixed IP addresses: match it" in str(with_ip.why)
    assert str(without.why).startswith("give the device a fixed IP address")


def test_only_basic_smtp_auth_on_exchange_online_is_flagged():
    online, server = make_tenant("Online"), make_tenant("Server", kind="server")
    assert readiness.assess(make_client(online, "A")).affected
    assert not readiness.assess(make_client(server, "B")).affected
    assert not readiness.assess(make_client(online, "C", method="smtp_oauth")).affected
    assert not readiness.assess(make_client(online, "D", method="hve")).affected


def test_dashboard_tile_counts_and_lists_affected_clients(viewer_client):
    first, second = make_tenant("Contoso"), make_tenant("Fabrikam")
    make_client(first, "Fax", kind="fax", source_ips=["192.0.2.1/32"])
    make_client(first, "Billing app", kind="application")
    make_client(second, "Printer")
    make_client(second, "Modern", method="smtp_oauth")
    dashboard = viewer_client.get("/").content.decode()
    assert 'hx-get="/relay/tiles/"' in dashboard
    tile = viewer_client.get("/relay/tiles/", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in tile
    assert '<p class="figure">3</p>' in tile
    assert "Contoso: 2" in tile and "Fabrikam: 1" in tile
    assert "Fax</a> → Connector relay" in tile and "Modern" not in tile
    assert "2026-12-31" in tile


def test_dashboard_tile_without_affected_clients(viewer_client):
    tile = viewer_client.get("/relay/tiles/", headers={"HX-Request": "true"}).content.decode()
    assert '<p class="figure ok">0</p>' in tile
