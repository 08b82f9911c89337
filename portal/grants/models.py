"""Applications that reach mailboxes with application permissions, and their grants.

A grant is one application × permission model × scope, with a four-eyes lifecycle:
requested → approved → active → expired / revoked (or rejected). What Exchange really allows is
checked by the verification job (see ``verification``); this is the record it is compared with.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.lib.crypto import EncryptedTextField
from portal.tenants.models import Tenant


class Source(models.TextChoices):
    PORTAL = "portal", _("portal")
    CONFIGURATION = "configuration", _("configuration")


class Application(models.Model):
    class Auth(models.TextChoices):
        APP_SECRET = "app_secret", _("App-only OAuth — client secret")
        APP_CERT = "app_cert", _("App-only OAuth — certificate")
        DELEGATED = "delegated", _("Delegated OAuth")
        BASIC = "basic", _("Basic (legacy)")

    class Protocol(models.TextChoices):
        EWS = "ews", _("EWS")
        GRAPH = "graph", _("Microsoft Graph")
        IMAP_POP = "imap_pop", _("IMAP / POP")
        SMTP = "smtp", _("SMTP")

    class Status(models.TextChoices):
        ACTIVE = "active", _("in use")
        PLANNED = "planned", _("planned")
        RETIRED = "retired", _("retired")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="applications")
    name = models.CharField(_("name"), max_length=120)
    owner = models.CharField(_("owner"), max_length=200)
    purpose = models.TextField(_("purpose"), blank=True)
    client_id = models.CharField(_("application (client) id"), max_length=80, blank=True)
    service_principal_id = models.CharField(
        _("service principal object id"), max_length=80, blank=True
    )
    service_account = models.CharField(_("service account"), max_length=254, blank=True)
    auth = models.CharField(
        _("authentication"), max_length=12, choices=Auth.choices, default=Auth.APP_SECRET
    )
    protocols = models.JSONField(_("protocols used"), default=list, blank=True)
    ews_uses = models.JSONField(_("what it does through EWS"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    # What the portal may use to act as the application when it verifies a grant (optional).
    credential_secret = EncryptedTextField(_("verification client secret"), blank=True)
    source = models.CharField(max_length=15, choices=Source.choices, default=Source.PORTAL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="grants_app_unique_name")
        ]

    def __str__(self):
        return self.name

    @property
    def principal(self) -> str:
        """Who Exchange knows: the app id online, the service account on-premises."""
        return self.client_id or self.service_account

    def protocol_labels(self) -> list[str]:
        labels = dict(self.Protocol.choices)
        return [str(labels.get(p, p)) for p in self.protocols]


class Grant(models.Model):
    class Model(models.TextChoices):
        RBAC = "rbac", _("RBAC for Applications")
        ACCESS_POLICY = "access_policy", _("Application Access Policy (legacy)")
        ENTRA = "entra", _("Entra full_access_as_app")
        IMPERSONATION = "impersonation", _("ApplicationImpersonation role (Exchange Server)")
        FULL_ACCESS = "full_access", _("Mailbox FullAccess")

    class Scope(models.TextChoices):
        ALL = "all", _("All mailboxes")
        GROUP = "group", _("Mail-enabled security group")
        FILTER = "filter", _("Management scope recipient filter")
        LIST = "list", _("Explicit list of mailboxes")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        APPROVED = "approved", _("approved")
        ACTIVE = "active", _("active")
        EXPIRED = "expired", _("expired")
        REVOKED = "revoked", _("revoked")
        REJECTED = "rejected", _("rejected")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="grants")
    model = models.CharField(_("permission model"), max_length=15, choices=Model.choices)
    role = models.CharField(
        _("role or right"), max_length=80, blank=True,
        help_text=_("For RBAC for Applications, e.g. Application EWS.AccessAsApp."),
    )  # fmt: skip
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    scope_value = models.CharField(
        _("group or recipient filter"), max_length=1000, blank=True,
        help_text=_("The group's address or name, or the recipient filter."),
    )  # fmt: skip
    mailboxes = models.JSONField(_("mailboxes"), default=list, blank=True)
    justification = models.TextField(_("justification"))
    ticket = models.CharField(_("ticket reference"), max_length=120, blank=True)
    expires_at = models.DateTimeField(_("expires"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=15, choices=Source.choices, default=Source.PORTAL)
    # The newest verification in short, for the list and the dashboard (details: GrantCheck).
    last_outcome = models.CharField(max_length=16, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        # The grants list's first page, newest first, without sorting every grant.
        indexes = [models.Index(fields=["-requested_at", "-id"], name="grants_newest_first")]

    def __str__(self):
        return f"{self.application} · {self.get_model_display()} · {self.scope_label()}"

    LIVE = (Status.APPROVED, Status.ACTIVE)
    OPEN = (Status.REQUESTED, Status.APPROVED, Status.ACTIVE)

    @property
    def tenant(self) -> Tenant:
        return self.application.tenant

    @property
    def expires_on(self):
        """The expiry day (configuration documents name a day, not a time)."""
        return timezone.localdate(self.expires_at) if self.expires_at else None

    @property
    def status_class(self) -> str:
        """The badge colour (the portal's pass/warn/fail/skip classes)."""
        return {"active": "pass", "approved": "warn", "requested": "queued",
                "rejected": "fail", "revoked": "fail"}.get(self.status, "skip")  # fmt: skip

    @property
    def outcome_class(self) -> str:
        return OUTCOME_CLASS.get(self.last_outcome, "skip")

    @property
    def outcome_label(self) -> str:
        return str(OUTCOME_LABELS.get(self.last_outcome, ""))

    def scope_label(self) -> str:
        if self.scope == self.Scope.LIST:
            return ", ".join(self.mailboxes)
        if self.scope in (self.Scope.GROUP, self.Scope.FILTER):
            return self.scope_value
        return str(self.get_scope_display())


class GrantCheck(models.Model):
    """One verification of a grant against Exchange, with the evidence per mailbox."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="checks")
    job_id = models.CharField(max_length=64, blank=True)
    checked_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=16)
    detail = models.CharField(max_length=500, blank=True)
    # [{"mailbox", "expected": "in"|"out", "reached", "detail"}]
    evidence = models.JSONField(default=list)
    resolved = models.JSONField(default=list)

    class Meta:
        ordering = ["-checked_at", "-id"]

    def __str__(self):
        return f"{self.grant_id} {self.outcome} {self.checked_at:%Y-%m-%d %H:%M}"

    @property
    def status_class(self) -> str:
        return OUTCOME_CLASS.get(self.outcome, "skip")

    @property
    def cannot_act(self) -> bool:
        return self.outcome == "unknown" and self.detail.startswith("the portal acts only")

    @property
    def lacks_sample(self) -> bool:
        return self.outcome == "unknown" and self.detail.startswith("no mailbox inside")


OUTCOME_CLASS = {"verified": "pass", "broken": "fail", "over-privileged": "fail", "unknown": "skip"}
OUTCOME_LABELS = {
    "verified": pgettext_lazy("grant outcome", "verified"),
    "broken": pgettext_lazy("grant outcome", "broken"),
    "over-privileged": pgettext_lazy("grant outcome", "over-privileged"),
    "unknown": pgettext_lazy("grant outcome", "unknown"),
}


class EwsUse(models.TextChoices):
    """What an application does through EWS (each has a Microsoft Graph replacement)."""

    MAIL_READ = "mail_read", _("Read mail")
    MAIL_WRITE = "mail_write", _("Change or move mail")
    MAIL_SEND = "mail_send", _("Send mail")
    CALENDAR = "calendar", _("Calendars")
    FREE_BUSY = "free_busy", _("Free/busy")
    CONTACTS = "contacts", _("Contacts")
    TASKS = "tasks", _("Tasks")
    AUTO_REPLIES = "auto_replies", _("Automatic replies and mailbox settings")


class TenantEws(models.Model):
    """An Exchange Online tenant's EWS switches, as the admin read them from
    Get-OrganizationConfig (EWSEnabled, EWSAllowedAppIDs)."""

    class Enabled(models.TextChoices):
        UNSET = "unset", _("not set ($null)")
        TRUE = "true", _("True")
        FALSE = "false", _("False")

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="ews_state")
    ews_enabled = models.CharField(
        _("EWSEnabled"), max_length=5, choices=Enabled.choices, default=Enabled.UNSET
    )
    allowed_app_ids = models.JSONField(_("EWSAllowedAppIDs"), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"EWS settings of {self.tenant}"
