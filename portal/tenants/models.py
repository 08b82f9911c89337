import ipaddress

from django.db import models
from django.utils.translation import gettext_lazy as _

from connectivity.platform import CLOUDS
from portal.lib.crypto import EncryptedTextField


class Tenant(models.Model):
    """An Exchange Online tenant or an Exchange Server organization."""

    class Kind(models.TextChoices):
        ONLINE = "online", _("Exchange Online")
        SERVER = "server", _("Exchange Server (on-premises)")

    class Cloud(models.TextChoices):
        WORLDWIDE = "worldwide", _("Worldwide (commercial, GCC)")
        GCC_HIGH = "gcc_high", _("US Government GCC High")
        DOD = "dod", _("US Government DoD")
        CHINA = "china", _("China (operated by 21Vianet)")
        CUSTOM = "custom", _("Custom endpoints (test lab, sandbox)")

    class Auth(models.TextChoices):
        OAUTH_SECRET = "oauth_secret", _("OAuth 2.0 client credentials — client secret")
        OAUTH_CERT = "oauth_cert", _("OAuth 2.0 client credentials — certificate")
        BASIC = "basic", _("Basic (Exchange Server)")
        NTLM = "ntlm", _("NTLM (Exchange Server)")

    class Security(models.TextChoices):
        STARTTLS = "starttls", _("STARTTLS")
        TLS = "tls", _("Implicit TLS")
        NONE = "none", _("None (plain text)")

    name = models.CharField(_("display name"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.ONLINE)
    cloud = models.CharField(
        _("cloud"), max_length=12, choices=Cloud.choices, default=Cloud.WORLDWIDE
    )
    directory_id = models.CharField(
        _("tenant id"), max_length=80, blank=True,
        help_text=_("Entra ID directory (tenant) id: a GUID or the .onmicrosoft.com domain."),
    )  # fmt: skip
    accepted_domains = models.JSONField(_("accepted domains"), default=list, blank=True)

    ews_url = models.URLField(_("EWS URL"), blank=True)
    autodiscover_url = models.URLField(_("Autodiscover URL"), blank=True)
    mapi_url = models.URLField(_("MAPI over HTTP URL"), blank=True)
    token_url = models.URLField(_("OAuth token URL"), blank=True)
    smtp_host = models.CharField(_("SMTP host"), max_length=253, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_security = models.CharField(
        _("SMTP security"), max_length=10, choices=Security.choices, default=Security.STARTTLS
    )
    imap_host = models.CharField(_("IMAP host"), max_length=253, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    pop_host = models.CharField(_("POP3 host"), max_length=253, blank=True)
    pop_port = models.PositiveIntegerField(_("POP3 port"), default=995)
    dns_server = models.CharField(
        _("DNS server for tests"), max_length=260, blank=True,
        help_text=_("IP address or IP:port of the DNS server the tests ask; empty uses this "
                    "machine's resolver."),
    )  # fmt: skip

    auth_method = models.CharField(
        _("authentication"), max_length=12, choices=Auth.choices, default=Auth.OAUTH_SECRET
    )
    client_id = models.CharField(_("application (client) id"), max_length=80, blank=True)
    client_secret = EncryptedTextField(_("client secret"), blank=True)
    certificate_pem = EncryptedTextField(_("certificate and private key (PEM)"), blank=True)
    username = models.CharField(_("service account"), max_length=254, blank=True)
    password = EncryptedTextField(_("service account password"), blank=True)
    test_mailbox = models.EmailField(_("default test mailbox"), blank=True)

    tls_verify = models.BooleanField(_("verify TLS certificates"), default=True)
    ca_bundle = models.TextField(_("custom CA bundle (PEM)"), blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def cloud_info(self):
        if self.kind == self.Kind.ONLINE:
            return CLOUDS.get(self.cloud)
        return None

    @property
    def uses_oauth(self) -> bool:
        return self.auth_method in {self.Auth.OAUTH_SECRET, self.Auth.OAUTH_CERT}

    @property
    def primary_domain(self) -> str:
        if self.accepted_domains:
            return self.accepted_domains[0]
        if self.test_mailbox:
            return self.test_mailbox.rsplit("@", 1)[1]
        return ""

    def endpoints(self) -> dict:
        """Effective endpoints: the tenant's own values, else its cloud's defaults."""
        cloud = self.cloud_info
        directory = self.directory_id or "organizations"
        return {
            "ews_url": self.ews_url or (cloud.ews_url if cloud else ""),
            "autodiscover_url": self.autodiscover_url,
            "mapi_url": self.mapi_url or (cloud.mapi_url if cloud else ""),
            "token_url": self.token_url or (cloud.token_url(directory) if cloud else ""),
            "scope": cloud.ews_scope if cloud else "https://outlook.office365.com/.default",
            "smtp_host": self.smtp_host or (cloud.smtp_host if cloud else ""),
            "smtp_port": self.smtp_port,
            "smtp_security": self.smtp_security,
            "imap_host": self.imap_host or (cloud.imap_host if cloud else ""),
            "imap_port": self.imap_port,
            "pop_host": self.pop_host or (cloud.pop_host if cloud else ""),
            "pop_port": self.pop_port,
            "dns_server": self.dns_server,
        }

    def dns_resolver(self) -> dict:
        """``nameserver``/``port`` arguments for DNS lookups, or {} for the machine's resolver."""
        parsed = parse_dns_server(self.dns_server) if self.dns_server else None
        return {"nameserver": parsed[0], "port": parsed[1]} if parsed else {}


def parse_dns_server(value: str) -> tuple[str, int] | None:
    """'192.0.2.53', '192.0.2.53:5353', '2001:db8::53' or '[2001:db8::53]:53' → (ip, port)."""
    host, port = value, "53"
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif value.count(":") == 1:
        host, port = value.split(":")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        return None
    return str(ip), int(port)
