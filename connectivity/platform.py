"""Exchange platform facts the portal relies on, each with its source, in one place.

Dates and endpoints change; keep them here (not scattered through code) and cite the source.
Every endpoint is only a default: a tenant can override each one.
"""

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Cloud:
    key: str
    label: str
    authority: str  # OAuth 2.0 authority host; token URL = authority/<tenant>/oauth2/v2.0/token
    ews_resource: str  # resource / audience; scope = ews_resource + "/.default"
    ews_url: str
    autodiscover_host: str
    smtp_host: str
    imap_host: str
    pop_host: str
    source: str

    @property
    def ews_scope(self) -> str:
        return self.ews_resource.rstrip("/") + "/.default"

    def token_url(self, tenant_id: str) -> str:
        return f"{self.authority.rstrip('/')}/{tenant_id}/oauth2/v2.0/token"

    @property
    def mapi_url(self) -> str:
        return f"{self.ews_resource.rstrip('/')}/mapi/emsmdb/"


_SRC_EWS_OAUTH = (
    "Microsoft Learn, 'Authenticate an EWS application by using OAuth' and 'Microsoft 365 "
    "national cloud endpoints' (GCC High/DoD, operated by 21Vianet)"
)

CLOUDS: dict[str, Cloud] = {
    c.key: c
    for c in (
        Cloud(
            "worldwide", "Worldwide (commercial, GCC)", "https://login.microsoftonline.com",
            "https://outlook.office365.com", "https://outlook.office365.com/EWS/Exchange.asmx",
            "outlook.office365.com", "smtp.office365.com", "outlook.office365.com",
            "outlook.office365.com", _SRC_EWS_OAUTH,
        ),
        Cloud(
            "gcc_high", "US Government GCC High", "https://login.microsoftonline.us",
            "https://outlook.office365.us", "https://outlook.office365.us/EWS/Exchange.asmx",
            "outlook.office365.us", "smtp.office365.us", "outlook.office365.us",
            "outlook.office365.us", _SRC_EWS_OAUTH,
        ),
        Cloud(
            "dod", "US Government DoD", "https://login.microsoftonline.us",
            "https://webmail.apps.mil", "https://webmail.apps.mil/EWS/Exchange.asmx",
            "autodiscover-s.office365.us", "smtp.office365.us", "outlook-dod.office365.us",
            "outlook-dod.office365.us", _SRC_EWS_OAUTH,
        ),
        Cloud(
            "china", "China (operated by 21Vianet)", "https://login.partner.microsoftonline.cn",
            "https://partner.outlook.cn", "https://partner.outlook.cn/EWS/Exchange.asmx",
            "partner.outlook.cn", "smtp.partner.outlook.cn", "partner.outlook.cn",
            "partner.outlook.cn", _SRC_EWS_OAUTH,
        ),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Milestone:
    day: date
    title: str
    detail: str
    source: str


EWS_MILESTONES = (
    Milestone(
        date(2026, 10, 1), "Phased EWS disablement begins in Exchange Online",
        "Tenants with EWSEnabled unset are switched to False unless they set EWSEnabled=True "
        "and an application allow-list before the end of August 2026.",
        "Microsoft 365 message center MC1227454 (2026-02-06)",
    ),
    Milestone(
        date(2027, 4, 1), "EWS in Exchange Online permanently retired",
        "The admin controls go away; no exceptions. Exchange Server on-premises is not affected.",
        "Microsoft 365 message center MC1227454 (2026-02-06)",
    ),
)  # fmt: skip

SMTP_AUTH_MILESTONES = (
    Milestone(
        date(2026, 12, 31), "Basic SMTP AUTH disabled by default for existing tenants",
        "Admins can re-enable it; new tenants after December 2026 do not have it by default. "
        "Rejection text: 550 5.7.30 Basic authentication is not supported for Client Submission.",
        "Exchange Team blog, 2026-01-27",
    ),
)  # fmt: skip
