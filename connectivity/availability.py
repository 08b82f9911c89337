"""Which interoperability and connectivity features each plan includes, with sources.

One data file (reviewed like connectivity/platform.py and connectivity/lifecycle.py): the
tenant's feature-availability page reads it as it is. ``YES`` included, ``NO`` not included,
``LIMITED`` included with the restriction in ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectivity.i18n import N_

YES, NO, LIMITED = "yes", "no", "limited"

_SRC_LIMITS = "Microsoft Learn, 'Exchange Online limits' (client access, mailbox and archive)"
_SRC_PLANS = "Microsoft Learn, 'Exchange Online service description' (plan comparison)"
_SRC_F3 = "Microsoft Learn, 'Microsoft 365 F3 service description' (Exchange Online Kiosk)"
_SRC_UM = "Microsoft Learn, 'Retirement of Unified Messaging in Exchange Online' (2020-02-28)"
_SRC_E19 = "Microsoft Learn, 'What's new in Exchange Server 2019' (Unified Messaging removed)"
_SRC_EWS = "Microsoft 365 message center MC1227454 (2026-02-06)"
_SRC_SMTP = "Exchange Team blog, 2026-01-27 (Basic SMTP AUTH plan)"
_SRC_PURVIEW = "Microsoft Learn, 'Microsoft Purview eDiscovery solutions' (licensing)"


@dataclass(frozen=True)
class Plan:
    key: str
    label: str
    online: bool


PLANS = (
    Plan("exo_plan1", "Exchange Online Plan 1", True),
    Plan("exo_plan2", "Exchange Online Plan 2", True),
    Plan("m365_e3", "Microsoft 365 E3", True),
    Plan("m365_e5", "Microsoft 365 E5", True),
    Plan("m365_f3", "Microsoft 365 F3 / Exchange Online Kiosk", True),
    Plan("exchange_server", "Exchange Server (on-premises)", False),
)
PLAN_KEYS = [p.key for p in PLANS]


@dataclass(frozen=True)
class Entry:
    value: str
    note: str = ""


@dataclass(frozen=True)
class Feature:
    key: str
    label: str
    by_plan: dict[str, Entry]
    source: str


def _all(value: str, note: str = "", **overrides: Entry) -> dict[str, Entry]:
    table = {key: Entry(value, note) for key in PLAN_KEYS}
    table.update(overrides)
    return table


_F3_CLIENTS = N_("Kiosk licences cover Outlook on the web, mobile and ActiveSync only.")
_EWS_ONLINE = N_("Phased disablement from 2026-10-01, retired 2027-04-01.")

FEATURES = (
    Feature("ews", N_("Exchange Web Services (EWS)"), _all(
        LIMITED, _EWS_ONLINE, exchange_server=Entry(YES),
    ), _SRC_EWS),
    Feature("outlook_desktop", N_("Outlook desktop (MAPI over HTTP)"), _all(
        YES, m365_f3=Entry(NO, _F3_CLIENTS),
    ), _SRC_F3),
    Feature("imap_pop", N_("IMAP4 and POP3"), _all(
        YES, m365_f3=Entry(LIMITED, _F3_CLIENTS),
    ), _SRC_LIMITS),
    Feature("activesync", N_("Exchange ActiveSync"), _all(YES), _SRC_LIMITS),
    Feature("smtp_auth", N_("SMTP AUTH client submission"), _all(
        LIMITED, N_("Basic authentication disabled by default from the end of December 2026; "
                    "OAuth keeps working."),
        exchange_server=Entry(YES),
    ), _SRC_SMTP),
    Feature("archive", N_("Archive mailbox"), _all(
        YES, exo_plan1=Entry(LIMITED, N_("50 GB archive; auto-expanding archiving needs Plan 2 "
                                         "or Exchange Online Archiving.")),
        m365_f3=Entry(NO, N_("No archive mailbox; mailbox size 2 GB.")),
    ), _SRC_LIMITS),
    Feature("hold", N_("Litigation hold and In-Place hold"), _all(
        YES, exo_plan1=Entry(NO, N_("Needs Exchange Online Archiving or Plan 2.")),
        m365_f3=Entry(NO, N_("Needs an add-on licence.")),
    ), _SRC_PLANS),
    Feature("ediscovery", N_("eDiscovery (with SharePoint)"), _all(
        YES, exo_plan1=Entry(LIMITED, N_("Content search only.")),
        m365_f3=Entry(LIMITED, N_("Content search only.")),
        m365_e5=Entry(YES, N_("Includes eDiscovery (Premium).")),
    ), _SRC_PURVIEW),
    Feature("site_mailboxes", N_("Site mailboxes (SharePoint)"), _all(
        NO, N_("Retired in SharePoint Online in April 2021 (MC224531)."),
        exchange_server=Entry(YES, N_("With SharePoint Server 2013-2019 and server-to-server "
                                      "OAuth.")),
    ), _SRC_PLANS),
    Feature("unified_messaging", N_("Voicemail through Exchange Unified Messaging"), _all(
        NO, N_("Retired on 2020-02-28; use Cloud Voicemail."),
        exchange_server=Entry(LIMITED, N_("Exchange Server 2016 only; removed from 2019 and "
                                          "SE.")),
    ), f"{_SRC_UM}; {_SRC_E19}"),
    Feature("cloud_voicemail", N_("Cloud Voicemail"), _all(
        LIMITED, N_("Needs Teams Phone (an add-on for this plan)."),
        m365_e5=Entry(YES, N_("Teams Phone is included.")),
        exchange_server=Entry(LIMITED, N_("Through Skype for Business Server hybrid or Teams.")),
    ), _SRC_UM),
)  # fmt: skip


def table() -> list[tuple[Feature, list[Entry]]]:
    """Rows in plan order, for a page or a report."""
    return [(feature, [feature.by_plan[key] for key in PLAN_KEYS]) for feature in FEATURES]
