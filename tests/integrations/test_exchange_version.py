"""An Exchange Server tenant's version: read from the EWS answer's ServerVersionInfo when a check
runs (the sandbox's answer goes through exchangelib), or entered; its support state is shown."""

import pytest

from portal.audit.models import AuditEvent
from portal.integrations import service
from portal.integrations.models import TenantProfile
from portal.tenants.models import Tenant

from .conftest import make_integration

pytestmark = pytest.mark.django_db


def test_a_check_passes_the_servers_build_on_and_online_builds_are_not_recorded(sandbox_tenant):
    # The sandbox answers as Exchange Online (15.20.x): nothing is recorded for any tenant kind.
    Tenant.objects.filter(pk=sandbox_tenant.pk).update(kind=Tenant.Kind.SERVER)
    sandbox_tenant.refresh_from_db()
    integration = make_integration(sandbox_tenant, features=["ews_calendar"])
    outcomes = service.run_checks(integration)
    assert outcomes[0].status == "green", outcomes[0]
    assert not TenantProfile.objects.exists()
    assert not AuditEvent.objects.filter(action="tenant.exchange_version").exists()


def test_an_exchange_server_build_is_recorded_once_with_its_support_state(viewer_client):
    tenant = Tenant.objects.create(name="On-prem", kind=Tenant.Kind.SERVER)
    service.record_version(tenant, 15, 2, 1748)
    service.record_version(tenant, 15, 2, 1748)  # the same answer again: no second event
    profile = TenantProfile.objects.get(tenant=tenant)
    assert (profile.exchange_version, profile.cumulative_update, profile.build) == (
        "exchange_2019",
        "CU15",
        "15.2.1748",
    )
    assert profile.version_source == "ews"
    assert AuditEvent.objects.filter(action="tenant.exchange_version").count() == 1
    html = viewer_client.get(f"/integrations/tenants/{tenant.pk}/").content.decode()
    assert "Exchange Server 2019" in html and "CU15" in html and "15.2.1748" in html
    assert "Out of support" in html and "read from EWS ServerVersionInfo" in html
    tiles = viewer_client.get("/integrations/tiles/", HTTP_HX_REQUEST="true").content.decode()
    assert "Exchange Server versions" in tiles and "Exchange Server SE" in tiles  # the path
    index = viewer_client.get("/integrations/").content.decode()
    assert f'href="/integrations/tenants/{tenant.pk}/"' in index
    service.record_version(tenant, 15, 2, 2562)  # upgraded in place to SE
    profile.refresh_from_db()
    assert profile.exchange_version == "exchange_se"
    html = viewer_client.get(f"/integrations/tenants/{tenant.pk}/").content.decode()
    assert "Supported" in html


def test_online_tenants_never_record_a_server_version():
    tenant = Tenant.objects.create(name="Cloud", kind=Tenant.Kind.ONLINE)
    service.record_version(tenant, 15, 2, 1748)
    assert not TenantProfile.objects.exists()
