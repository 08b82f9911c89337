"""Lifecycle and availability data: every product and feature has a state, a date where one is
known, a recommended path and a source; Exchange builds map to versions."""

from datetime import date

import pytest

from connectivity import availability, lifecycle
from portal.integrations.models import Feature, Product
from portal.integrations.powershell import quote, skype_commands
from portal.tenants.models import Tenant


def test_every_product_and_feature_has_a_source_and_a_recommended_path():
    for item in [*lifecycle.PRODUCTS.values(), *lifecycle.FEATURES.values()]:
        assert item.source.strip() and item.recommended.strip(), item.key
    assert set(Product.values) <= set(lifecycle.PRODUCTS)
    assert set(Feature.values) == set(lifecycle.FEATURES)


@pytest.mark.parametrize("key, day, state", [
    ("sfb_2019", date(2025, 10, 13), lifecycle.ENDING),
    ("sfb_2019", date(2025, 10, 14), lifecycle.ENDED),
    ("sfb_2015", date(2026, 12, 1), lifecycle.ENDED),
    ("sfb_online", date(2021, 7, 31), lifecycle.RETIRED),
    ("exchange_2016", date(2026, 12, 1), lifecycle.ENDED),
    ("exchange_2019", date(2025, 1, 1), lifecycle.ENDING),
    ("exchange_se", date(2026, 12, 1), lifecycle.SUPPORTED),
    ("sharepoint_online", date(2026, 12, 1), lifecycle.SUPPORTED),
    ("lync_2013", date(2023, 4, 11), lifecycle.ENDED),
])  # fmt: skip
def test_product_states_follow_the_dates(key, day, state):
    assert lifecycle.PRODUCTS[key].state_on(day) == state


def test_feature_states_depend_on_the_tenant():
    day = date(2026, 12, 1)
    assert lifecycle.feature_state("voicemail", day, online=True) == lifecycle.RETIRED
    assert (
        lifecycle.feature_state("site_mailboxes", day, online=True, product="sharepoint_online")
        == lifecycle.RETIRED
    )
    assert (
        lifecycle.feature_state("site_mailboxes", day, online=False, product="sharepoint_2019")
        == lifecycle.SUPPORTED
    )
    # EWS in Exchange Online: ending now, retired from 2027-04-01; on-premises unaffected.
    assert lifecycle.feature_state("ews_calendar", day, online=True) == lifecycle.ENDING
    assert lifecycle.feature_state("ews_calendar", date(2027, 4, 1), online=True) == "retired"
    assert lifecycle.feature_state("ews_calendar", date(2027, 4, 1), online=False) == "supported"


@pytest.mark.parametrize("build, expected", [
    ((15, 1, 2507), ("exchange_2016", "")),
    ((15, 2, 1748), ("exchange_2019", "CU15")),
    ((15, 2, 1544), ("exchange_2019", "CU14")),
    ((15, 2, 2562), ("exchange_se", "")),
    ((15, 20, 8769), ("exchange_online", "")),
    ((14, 3, 123), ("", "")),
])  # fmt: skip
def test_exchange_build_numbers_map_to_versions(build, expected):
    assert lifecycle.exchange_version_from_build(*build) == expected


def test_availability_covers_every_plan_with_sources():
    assert [p.key for p in availability.PLANS] == availability.PLAN_KEYS
    for feature, entries in availability.table():
        assert feature.source
        assert len(entries) == len(availability.PLANS)
        assert all(e.value in {"yes", "no", "limited"} for e in entries)
        assert all(e.note for e in entries if e.value == "limited"), feature.key
    f3 = dict((f.key, f.by_plan["m365_f3"]) for f in availability.FEATURES)
    assert f3["outlook_desktop"].value == "no" and f3["archive"].value == "no"


def test_powershell_values_are_single_quoted_safely():
    assert quote("Exchange Online") == "'Exchange Online'"
    assert quote("a'b") == "'a''b'"
    # PowerShell ends a single-quoted string on typographic quotes too.
    assert quote("x\u2019; Remove-Item C:\\ -Recurse; \u2018") == (
        "'x\u2019\u2019; Remove-Item C:\\ -Recurse; \u2018\u2018'"
    )
    assert quote("$(Get-Secret)") == "'$(Get-Secret)'"
    with pytest.raises(ValueError):
        quote("a\nb")


def test_hosting_provider_values_follow_the_cloud():
    worldwide = Tenant(name="W", kind=Tenant.Kind.ONLINE, cloud=Tenant.Cloud.WORLDWIDE)
    lines = skype_commands(worldwide)
    assert "-ProxyFqdn 'exap.um.outlook.com'" in lines[0]
    assert "-HostsOCSUsers $False" in lines[0] and "-EnabledSharedAddressSpace $True" in lines[0]
    assert lines[1].startswith("Set-CsOAuthConfiguration -ExchangeAutodiscoverUrl 'https://")
    china = Tenant(name="C", kind=Tenant.Kind.ONLINE, cloud=Tenant.Cloud.CHINA)
    assert "'exap.um.partner.outlook.cn'" in skype_commands(china)[0]
    gcc = Tenant(name="G", kind=Tenant.Kind.ONLINE, cloud=Tenant.Cloud.GCC_HIGH)
    assert "'exap.um.office365.us'" in skype_commands(gcc)[0]
    server = Tenant(
        name="S",
        kind=Tenant.Kind.SERVER,
        accepted_domains=["contoso.com"],
        autodiscover_url="https://mail.contoso.com/autodiscover/autodiscover.xml",
    )
    lines = skype_commands(server)
    assert "New-CsPartnerApplication" in lines[0]
    assert "'https://mail.contoso.com/autodiscover/metadata/json/1'" in lines[0]
    assert lines[1].endswith("'https://mail.contoso.com/autodiscover/autodiscover.svc'")
