"""Support state of the products and features that interoperate with Exchange, with sources.

One reviewed place for lifecycle dates (see also connectivity/platform.py): Skype for Business /
Lync, SharePoint, Exchange Server versions, and the Exchange features those products use. The
portal shows ``state_on(day)`` next to every integration and on the dashboard, with the
recommended path. Sentences are marked with ``N_`` so the portal can translate them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from connectivity.i18n import N_

SUPPORTED = "supported"  # in mainstream or extended support, nothing announced within a year
ENDING = "ending"  # an end date is announced and less than a year away
ENDED = "ended"  # out of support: no security fixes
RETIRED = "retired"  # the service or feature no longer works at all

ENDING_WITHIN_DAYS = 365

_SRC_SFB = "Microsoft Learn, 'Skype for Business Online retirement'; Lifecycle policy pages"
_SRC_SFB_SERVER = (
    "Microsoft Lifecycle: Skype for Business Server 2015 and 2019 (extended support ends "
    "2025-10-14)"
)
_SRC_LYNC = "Microsoft Lifecycle: Lync Server 2010 (2021-04-13), Lync Server 2013 (2023-04-11)"
_SRC_OCS = "Microsoft Lifecycle: Office Communications Server 2007 R2 (2018-01-09)"
_SRC_SP = (
    "Microsoft Lifecycle: SharePoint Server 2013 (2023-04-11), 2016 and 2019 (2026-07-14); "
    "SharePoint Server Subscription Edition (Modern Lifecycle Policy)"
)
_SRC_EXCHANGE = (
    "Exchange Team blog, 'T-1 month: Exchange Server 2016 and Exchange Server 2019 end of "
    "support', 2025-09-14"
)
_SRC_UM = "Microsoft Learn, 'Retirement of Unified Messaging in Exchange Online' (2020-02-28)"
_SRC_SITE_MAILBOX = "Microsoft 365 message center MC224531 (site mailboxes in SharePoint Online)"
_SRC_EWS = "Microsoft 365 message center MC1227454 (2026-02-06)"
_SRC_OAUTH = (
    "Microsoft Learn, 'Plan for server-to-server authentication in SharePoint Server' and "
    "'Configure integration between Skype for Business Server and Exchange Server'"
)


@dataclass(frozen=True)
class Lifecycle:
    key: str
    label: str
    family: str  # "sharepoint", "skype", "exchange" or "feature"
    end_of_support: date | None  # security fixes stop (or the service is switched off)
    retired: bool  # True: the thing no longer works at all after end_of_support
    recommended: str  # what to move to, in words
    source: str

    def state_on(self, day: date) -> str:
        if self.end_of_support is None:
            return SUPPORTED
        if day >= self.end_of_support:
            return RETIRED if self.retired else ENDED
        if (self.end_of_support - day).days <= ENDING_WITHIN_DAYS:
            return ENDING
        return SUPPORTED


def _p(key, label, family, end, retired, recommended, source) -> Lifecycle:
    return Lifecycle(key, label, family, end, retired, recommended, source)


_TO_TEAMS = N_("Move to Microsoft Teams (Teams Phone with Cloud Voicemail for voicemail).")
_TO_SP_SE = N_("Upgrade to SharePoint Server Subscription Edition or move to SharePoint Online.")

PRODUCTS: dict[str, Lifecycle] = {
    p.key: p
    for p in (
        _p("ocs_2007_r2", "Office Communications Server 2007 R2", "skype",
           date(2018, 1, 9), False, _TO_TEAMS, _SRC_OCS),
        _p("lync_2010", "Lync Server 2010", "skype", date(2021, 4, 13), False, _TO_TEAMS,
           _SRC_LYNC),
        _p("lync_2013", "Lync Server 2013", "skype", date(2023, 4, 11), False, _TO_TEAMS,
           _SRC_LYNC),
        _p("sfb_2015", "Skype for Business Server 2015", "skype", date(2025, 10, 14), False,
           _TO_TEAMS, _SRC_SFB_SERVER),
        _p("sfb_2019", "Skype for Business Server 2019", "skype", date(2025, 10, 14), False,
           _TO_TEAMS, _SRC_SFB_SERVER),
        _p("sfb_online", "Skype for Business Online", "skype", date(2021, 7, 31), True,
           _TO_TEAMS, _SRC_SFB),
        _p("sharepoint_2013", "SharePoint Server 2013", "sharepoint", date(2023, 4, 11), False,
           _TO_SP_SE, _SRC_SP),
        _p("sharepoint_2016", "SharePoint Server 2016", "sharepoint", date(2026, 7, 14), False,
           _TO_SP_SE, _SRC_SP),
        _p("sharepoint_2019", "SharePoint Server 2019", "sharepoint", date(2026, 7, 14), False,
           _TO_SP_SE, _SRC_SP),
        _p("sharepoint_se", "SharePoint Server Subscription Edition", "sharepoint", None, False,
           N_("Stay current with the monthly updates."), _SRC_SP),
        _p("sharepoint_online", "SharePoint Online", "sharepoint", None, False,
           N_("Nothing to do: the service is kept current by Microsoft."), _SRC_SP),
        _p("exchange_2016", "Exchange Server 2016", "exchange", date(2025, 10, 14), False,
           N_("Move to Exchange Server 2019 CU15, then upgrade in place to Exchange Server SE "
              "(or move to Exchange Online)."), _SRC_EXCHANGE),
        _p("exchange_2019", "Exchange Server 2019", "exchange", date(2025, 10, 14), False,
           N_("Upgrade in place from 2019 CU14 or CU15 to Exchange Server SE (or move to "
              "Exchange Online)."), _SRC_EXCHANGE),
        _p("exchange_se", "Exchange Server Subscription Edition (SE)", "exchange", None, False,
           N_("Stay current with the cumulative updates."), _SRC_EXCHANGE),
    )
}  # fmt: skip

SHAREPOINT_PRODUCTS = [k for k, p in PRODUCTS.items() if p.family == "sharepoint"]
SKYPE_PRODUCTS = [k for k, p in PRODUCTS.items() if p.family == "skype" and k != "sfb_online"]
EXCHANGE_VERSIONS = [k for k, p in PRODUCTS.items() if p.family == "exchange"]

# Exchange features the integrations use, each with the products it belongs to.
FEATURES: dict[str, Lifecycle] = {
    f.key: f
    for f in (
        _p("site_mailboxes", N_("Site mailboxes"), "sharepoint", None, False,
           N_("SharePoint Online: use Microsoft 365 Groups instead (site mailboxes were retired "
              "there in April 2021); SharePoint Server 2013-2019 still offer them."),
           _SRC_SITE_MAILBOX),
        _p("ediscovery", N_("eDiscovery"), "sharepoint", None, False,
           N_("Exchange Online: Microsoft Purview eDiscovery."), _SRC_OAUTH),
        _p("s2s_oauth", N_("Server-to-server OAuth"), "sharepoint", None, False,
           N_("Keep the authorization server certificate renewed on both sides."), _SRC_OAUTH),
        _p("ews_calendar", N_("EWS free/busy, calendar and out-of-office"), "skype",
           None, False,
           N_("Exchange Online retires EWS on 2027-04-01: the Skype/Lync server cannot read "
              "calendars there after that; plan the move to Teams."), _SRC_EWS),
        _p("im_presence", N_("IM and presence in Outlook on the web"), "skype", None, False,
           N_("Teams provides chat and presence in Outlook on the web."), _SRC_SFB_SERVER),
        _p("voicemail", N_("Voicemail (Exchange Unified Messaging)"), "skype",
           date(2020, 2, 28), True,
           N_("Cloud Voicemail (Teams Phone, or Skype for Business Server hybrid with Cloud "
              "Voicemail)."), _SRC_UM),
    )
}  # fmt: skip

# EWS in Exchange Online: the date the EWS-based features stop working for Online tenants.
EWS_ONLINE_RETIREMENT = date(2027, 4, 1)  # MC1227454


def feature_state(feature: str, day: date, *, online: bool, product: str = "") -> str:
    """A feature's state for a tenant: some features differ between Online and Server."""
    info = FEATURES[feature]
    if feature == "site_mailboxes" and product == "sharepoint_online":
        return RETIRED  # retired April 2021 (MC224531)
    if feature == "ews_calendar" and online:
        if day >= EWS_ONLINE_RETIREMENT:
            return RETIRED
        if (EWS_ONLINE_RETIREMENT - day).days <= ENDING_WITHIN_DAYS:
            return ENDING
    return info.state_on(day)


# Exchange Server build numbers (ServerVersionInfo Major.Minor.Build) → version key.
# 15.1 is Exchange 2016; 15.2 is 2019 until build 2562 (SE RTM, 15.2.2562.17).
SE_FIRST_BUILD = 2562
EXCHANGE_2019_CUS = {1748: "CU15", 1544: "CU14", 1258: "CU13", 1118: "CU12"}


def exchange_version_from_build(major: int, minor: int, build: int) -> tuple[str, str]:
    """(version key, cumulative update or "") from ServerVersionInfo; ("", "") if unknown."""
    if major != 15:
        return "", ""
    if minor == 1:
        return "exchange_2016", ""
    if minor == 2:
        if build >= SE_FIRST_BUILD:
            return "exchange_se", ""
        cu = next((name for first, name in sorted(EXCHANGE_2019_CUS.items(), reverse=True)
                   if build >= first), "")  # fmt: skip
        return "exchange_2019", cu
    if minor >= 20:
        return "exchange_online", ""  # Exchange Online answers 15.20.x
    return "", ""
