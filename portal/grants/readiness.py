"""EWS retirement readiness of Exchange Online tenants: which applications still use EWS, whether
EWS lets them in today, what replaces each use in Microsoft Graph, and how ready the tenant is.

Dates come from connectivity.platform (with their sources). Graph replacements: Microsoft Graph
permissions reference (mail, calendars, contacts, To Do tasks, mailbox settings incl. automatic
replies), as named in the platform reference ("Replacement: Microsoft Graph ...").
"""

from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from connectivity.platform import EWS_MILESTONES
from portal.grants.models import Application, EwsUse, TenantEws

SHUTDOWN = EWS_MILESTONES[-1].day  # 2027-04-01, MC1227454
GRAPH_REPLACEMENT = {
    EwsUse.MAIL_READ: "Mail.Read",
    EwsUse.MAIL_WRITE: "Mail.ReadWrite",
    EwsUse.MAIL_SEND: "Mail.Send",
    EwsUse.CALENDAR: "Calendars.ReadWrite",
    EwsUse.FREE_BUSY: "Calendars.ReadBasic",
    EwsUse.CONTACTS: "Contacts.ReadWrite",
    EwsUse.TASKS: "Tasks.ReadWrite",
    EwsUse.AUTO_REPLIES: "MailboxSettings.ReadWrite",
}


# What readiness reads of an application (its verification secret is not decrypted for it).
APP_COLUMNS = ("tenant_id", "name", "client_id", "protocols", "ews_uses", "status")


@dataclass
class AppReadiness:
    application: Application
    allowed: bool  # may use EWS today under EWSEnabled / EWSAllowedAppIDs
    replacements: list[tuple[str, str]]  # (EWS use label, Graph permission)
    on_graph: bool  # already uses Microsoft Graph: the move has started

    @property
    def ready(self) -> bool:
        """Ready for the shutdown: its EWS uses are known and it already speaks Graph."""
        return self.on_graph and bool(self.replacements)


@dataclass
class TenantReadiness:
    tenant: object
    online: bool
    state: TenantEws | None
    apps: list[AppReadiness] = field(default_factory=list)

    @property
    def ews_enabled(self) -> bool:
        """EWS is allowed for the organization unless EWSEnabled is False."""
        return self.state is None or self.state.ews_enabled != TenantEws.Enabled.FALSE

    @property
    def allow_list_applies(self) -> bool:
        # The allow-list only has an effect when the organization value is True.
        return bool(self.state and self.state.ews_enabled == TenantEws.Enabled.TRUE
                    and self.state.allowed_app_ids)  # fmt: skip

    @property
    def score(self) -> int:
        if not self.apps:
            return 100
        return round(100 * sum(a.ready for a in self.apps) / len(self.apps))


def days_left(today: date | None = None) -> int:
    return (SHUTDOWN - (today or timezone.localdate())).days


def for_tenants(tenants) -> list[TenantReadiness]:
    """Readiness per tenant; the applications and EWS states are read in two queries."""
    tenants = list(tenants)
    states = {s.tenant_id: s for s in TenantEws.objects.filter(tenant__in=tenants)}
    apps: dict[int, list[Application]] = {}
    in_use = Application.objects.filter(tenant__in=tenants).exclude(status="retired")
    for app in in_use.only(*APP_COLUMNS):
        if "ews" in app.protocols:
            apps.setdefault(app.tenant_id, []).append(app)
    result = []
    for tenant in tenants:
        online = tenant.kind == tenant.Kind.ONLINE
        row = TenantReadiness(tenant, online, states.get(tenant.pk))
        if online:
            row.apps = [_app(row, app) for app in apps.get(tenant.pk, [])]
        result.append(row)
    return result


def _app(row: TenantReadiness, app: Application) -> AppReadiness:
    allowed = row.ews_enabled and (
        not row.allow_list_applies or app.client_id in row.state.allowed_app_ids
    )
    labels = dict(EwsUse.choices)
    replacements = [(str(labels[u]), GRAPH_REPLACEMENT[u]) for u in app.ews_uses if u in labels]
    return AppReadiness(app, allowed, replacements, "graph" in app.protocols)


def scores(tenants) -> list[tuple[object, int]]:
    """(tenant, score) of each Exchange Online tenant with an application that uses EWS, as
    ``TenantReadiness.score`` gives it: the dashboard tile names no application, so the
    applications are read as plain values, not objects."""
    tenants = [t for t in tenants if t.kind == t.Kind.ONLINE]
    known = set(EwsUse.values)
    counts: dict[int, list[int]] = {}
    in_use = Application.objects.filter(tenant__in=tenants).exclude(status="retired")
    for tenant_id, protocols, uses in in_use.values_list("tenant_id", "protocols", "ews_uses"):
        if "ews" in protocols:
            ready = "graph" in protocols and any(use in known for use in uses)
            apps, ready_apps = counts.setdefault(tenant_id, [0, 0])
            counts[tenant_id] = [apps + 1, ready_apps + ready]
    return [(t, round(100 * counts[t.pk][1] / counts[t.pk][0])) for t in tenants if t.pk in counts]
