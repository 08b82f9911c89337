"""The Skype for Business Server settings an admin must have in place for IM and presence in
Outlook on the web, generated for the tenant's cloud with every value safely single-quoted."""

from urllib.parse import urlsplit

from portal.tenants.models import Tenant

# Hosting provider proxy FQDN per cloud. Source: platform-2026 reference ("Skype for Business
# Server + Exchange Online": exap.um.outlook.com; 21Vianet exap.um.partner.outlook.cn; GCC High
# exap.um.office365.us). DoD is not listed there, so nothing is generated for it.
PROXY_FQDN = {
    "worldwide": "exap.um.outlook.com",
    "china": "exap.um.partner.outlook.cn",
    "gcc_high": "exap.um.office365.us",
}
ONLINE_AUTODISCOVER = "https://autodiscover-s.outlook.com/autodiscover/autodiscover.svc"
# PowerShell closes a single-quoted string on any of these, not only on the ASCII quote.
_QUOTES = "'\u2018\u2019\u201a\u201b"


def quote(value: str) -> str:
    """A PowerShell single-quoted literal: no expansion; every kind of single quote doubled."""
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise ValueError("control characters cannot be quoted safely")
    return "'" + "".join(c * 2 if c in _QUOTES else c for c in value) + "'"


def _autodiscover_svc(tenant: Tenant) -> str:
    if tenant.autodiscover_url:
        parts = urlsplit(tenant.autodiscover_url)
        return f"{parts.scheme}://{parts.netloc}/autodiscover/autodiscover.svc"
    if tenant.kind == Tenant.Kind.ONLINE:
        cloud = tenant.cloud_info
        if tenant.cloud == "worldwide" or cloud is None:
            return ONLINE_AUTODISCOVER
        return f"https://{cloud.autodiscover_host}/autodiscover/autodiscover.svc"
    domain = tenant.primary_domain or "contoso.com"
    return f"https://autodiscover.{domain}/autodiscover/autodiscover.svc"


def skype_commands(tenant: Tenant) -> list[str]:
    """Commands for the Skype for Business Server Management Shell; [] when unknown."""
    autodiscover = _autodiscover_svc(tenant)
    lines = []
    if tenant.kind == Tenant.Kind.ONLINE:
        proxy = PROXY_FQDN.get(tenant.cloud)
        if not proxy:
            return []
        lines.append(
            "New-CsHostingProvider -Identity " + quote("Exchange Online") + " -Enabled $True "
            "-EnabledSharedAddressSpace $True -HostsOCSUsers $False -ProxyFqdn "
            + quote(proxy)
            + " -IsLocal $False -VerificationLevel UseSourceVerification"
        )
    else:
        host = urlsplit(autodiscover).hostname or ""
        lines.append(
            "New-CsPartnerApplication -Identity " + quote("Exchange") + " -ApplicationTrustLevel "
            "Full -MetadataUrl " + quote(f"https://{host}/autodiscover/metadata/json/1")
        )
    lines.append("Set-CsOAuthConfiguration -ExchangeAutodiscoverUrl " + quote(autodiscover))
    return lines
