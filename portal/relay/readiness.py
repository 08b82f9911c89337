"""Basic SMTP AUTH readiness: which clients stop working by default, and what to move them to."""

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext_lazy as _

from portal.relay.methods import (
    BASIC_SMTP_AUTH_OFF,
    BASIC_SMTP_AUTH_SOURCE,
    CONNECTOR,
    DIRECT_SEND,
    HVE,
    METHODS,
    SMTP_AUTH,
    SMTP_OAUTH,
)
from portal.tenants.models import Tenant

WHY = {
    SMTP_OAUTH: _("the device supports OAuth: keep the mailbox, sign in with XOAUTH2"),
    HVE: _("an application sending bulk mail to internal recipients only"),
    CONNECTOR: _("the device sends from fixed IP addresses: match it with an inbound connector"),
    DIRECT_SEND: _("internal recipients only: send to the tenant's MX without signing in"),
}
# A device with no recorded address: connector relay needs one first.
WHY_FIXED_IP_FIRST = _(
    "give the device a fixed IP address, then match it with an inbound connector"
)


@dataclass(frozen=True)
class Assessment:
    affected: bool
    stops_on: date | None = None
    recommended: str = ""
    why: str = ""
    source: str = ""

    @property
    def recommended_label(self):
        return METHODS[self.recommended].label if self.recommended else ""


def recommend(client) -> str:
    """The path for this client's kind and facts, in the order Microsoft's guidance gives."""
    if client.supports_oauth:
        return SMTP_OAUTH
    if client.internal_only and client.kind == client.Kind.APPLICATION:
        return HVE
    if client.source_ips:
        return CONNECTOR
    if client.internal_only:
        return DIRECT_SEND
    return SMTP_OAUTH if client.kind == client.Kind.APPLICATION else CONNECTOR


def is_affected(client) -> bool:
    return client.method == SMTP_AUTH and client.tenant.kind == Tenant.Kind.ONLINE


def assess(client) -> Assessment:
    if not is_affected(client):
        return Assessment(False)
    path = recommend(client)
    why = WHY_FIXED_IP_FIRST if path == CONNECTOR and not client.source_ips else WHY[path]
    return Assessment(True, BASIC_SMTP_AUTH_OFF, path, why, BASIC_SMTP_AUTH_SOURCE)


def affected_clients(queryset):
    """The clients of ``queryset`` that ``is_affected``, as a query (counted and grouped in SQL)."""
    return queryset.filter(method=SMTP_AUTH, tenant__kind=Tenant.Kind.ONLINE)
