"""Sending methods for relay clients, their limits and what replaces Basic SMTP AUTH.

Reviewed data, each value with its source (/work/shared/reference/platform-2026.md collects them):
Microsoft Learn "How to set up a multifunction device or application to send email using
Microsoft 365 or Office 365", "Exchange Online limits", "High Volume Email for Microsoft 365"
and the Exchange Team blog post of 2026-01-27 on Basic authentication for SMTP AUTH.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext_lazy as _

from connectivity.platform import SMTP_AUTH_MILESTONES


@dataclass(frozen=True)
class Method:
    key: str
    label: str
    host: str  # usual endpoint; "" when it is the tenant's own (MX, connector)
    port: int
    security: str  # starttls / tls / none, as the SMTP probe names them
    authenticates: bool  # does the device sign in (and so need a credential)?
    limits: tuple
    source: str


SMTP_AUTH = "smtp_auth"
SMTP_OAUTH = "smtp_oauth"
DIRECT_SEND = "direct_send"
CONNECTOR = "connector"
HVE = "hve"

METHODS = {
    m.key: m
    for m in (
        Method(
            SMTP_AUTH, _("SMTP AUTH client submission (Basic)"), "smtp.office365.com", 587,
            "starttls", True,
            (_("30 messages per minute per mailbox"), _("10,000 recipients per day per mailbox"),
             _("a licensed mailbox; TLS 1.2 or later")),
            "Microsoft Learn: set up a multifunction device or application to send email; "
            "Exchange Online limits",
        ),
        Method(
            SMTP_OAUTH, _("SMTP AUTH with OAuth (XOAUTH2)"), "smtp.office365.com", 587,
            "starttls", True,
            (_("30 messages per minute per mailbox"), _("10,000 recipients per day per mailbox"),
             _("an application token with SMTP.Send or SMTP.SendAsApp")),
            "Microsoft Learn: Authenticate an IMAP, POP or SMTP connection using OAuth",
        ),
        Method(
            DIRECT_SEND, _("Direct send (tenant MX, port 25)"), "", 25, "starttls", False,
            (_("internal recipients only"), _("no authentication; can be blocked with "
                                              "Set-OrganizationConfig -RejectDirectSend")),
            "Microsoft Learn: set up a multifunction device or application to send email",
        ),
        Method(
            CONNECTOR, _("Connector relay (inbound connector by IP or certificate)"), "", 25,
            "starttls", False,
            (_("internal and external recipients"),
             _("the certificate or MAIL FROM domain must be an accepted domain (since "
               "2023-11-01)")),
            "Microsoft Learn: configure a connector to send mail using Microsoft 365 or "
            "Office 365",
        ),
        Method(
            HVE, _("High Volume Email (HVE)"), "smtp-hve.office365.com", 587, "starttls", True,
            (_("internal recipients only"), _("100,000 recipients per day per tenant"),
             _("Basic authentication supported until September 2028")),
            "Microsoft Learn: High Volume Email for Microsoft 365",
        ),
    )
}  # fmt: skip

METHOD_CHOICES = [(m.key, m.label) for m in METHODS.values()]

# The day Basic SMTP AUTH stops working by default on existing Exchange Online tenants.
BASIC_SMTP_AUTH_OFF: date = SMTP_AUTH_MILESTONES[0].day
BASIC_SMTP_AUTH_SOURCE: str = SMTP_AUTH_MILESTONES[0].source
