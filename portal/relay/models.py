from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.lib.crypto import EncryptedTextField
from portal.relay.methods import METHOD_CHOICES, METHODS, SMTP_AUTH
from portal.tenants.models import Tenant

# A rotation becomes "due" this many days before its deadline (and the owner is reminded).
DUE_WINDOW_DAYS = 14


class RelayClient(models.Model):
    """A device or application that sends mail through one tenant's Exchange."""

    class Kind(models.TextChoices):
        FAX = "fax", _("Fax gateway")
        PRINTER = "printer", _("Printer or scanner")
        APPLIANCE = "appliance", _("Network appliance")
        APPLICATION = "application", _("Application")
        OTHER = "other", _("Other")

    class Security(models.TextChoices):
        STARTTLS = "starttls", _("STARTTLS")
        TLS = "tls", _("Implicit TLS")
        NONE = "none", _("None (plain text)")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="relay_clients",
                               verbose_name=_("tenant"))  # fmt: skip
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.PRINTER)
    owner = models.CharField(_("owner"), max_length=120)
    owner_email = models.EmailField(_("owner email"))
    location = models.CharField(_("location"), max_length=200, blank=True)
    source_ips = models.JSONField(_("source IP addresses"), default=list, blank=True)
    method = models.CharField(_("sending method"), max_length=12, choices=METHOD_CHOICES,
                              default=SMTP_AUTH)  # fmt: skip
    sender_addresses = models.JSONField(_("allowed sender addresses"), default=list, blank=True)
    supports_oauth = models.BooleanField(_("device supports OAuth (XOAUTH2)"), default=False)
    internal_only = models.BooleanField(_("sends to internal recipients only"), default=False)
    smtp_host = models.CharField(
        _("SMTP host"), max_length=253, blank=True,
        help_text=_("Empty uses the sending method's usual endpoint, or the tenant's SMTP host."),
    )  # fmt: skip
    smtp_port = models.PositiveIntegerField(
        _("SMTP port"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
    )  # fmt: skip
    smtp_security = models.CharField(_("SMTP security"), max_length=10, blank=True,
                                     choices=Security.choices)  # fmt: skip
    notes = models.TextField(_("notes"), blank=True)

    # Credential: a mailbox and password (Basic) or an OAuth client (XOAUTH2). Admins only.
    username = models.CharField(_("mailbox (user name)"), max_length=254, blank=True)
    password = EncryptedTextField(_("password"), blank=True)
    oauth_client_id = models.CharField(_("OAuth application (client) id"), max_length=80,
                                       blank=True)  # fmt: skip
    oauth_client_secret = EncryptedTextField(_("OAuth client secret"), blank=True)
    rotation_days = models.PositiveIntegerField(
        _("rotate every (days)"), default=90,
        help_text=_("0 means the credential has no rotation deadline."),
    )  # fmt: skip
    rotated_at = models.DateTimeField(_("credential last set"), null=True, blank=True)
    reminder_sent_for = models.DateField(null=True, blank=True)

    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="relay_client_unique_name")
        ]

    def __str__(self):
        return self.name

    @property
    def method_info(self):
        return METHODS[self.method]

    @property
    def has_credential(self) -> bool:
        return bool(self.password or self.oauth_client_secret)

    def endpoint(self) -> tuple[str, int, str]:
        """Host, port and security the device uses (and a test send connects to)."""
        info = self.method_info
        ep = self.tenant.endpoints()
        if self.tenant.cloud == Tenant.Cloud.CUSTOM or self.tenant.kind == Tenant.Kind.SERVER:
            default_host, default_port, default_sec = (
                ep["smtp_host"], ep["smtp_port"], ep["smtp_security"])  # fmt: skip
        else:
            default_host = info.host or ep["smtp_host"]
            default_port, default_sec = info.port, info.security
        return (self.smtp_host or default_host, self.smtp_port or default_port,
                self.smtp_security or default_sec)  # fmt: skip

    @property
    def rotation_due_at(self):
        if not self.rotation_days or not self.has_credential or not self.rotated_at:
            return None
        return self.rotated_at + timedelta(days=self.rotation_days)

    @property
    def rotation_state(self) -> str:
        """ "none", "ok", "due" (within the window) or "overdue"."""
        due = self.rotation_due_at
        if due is None:
            return "none"
        now = timezone.now()
        if now >= due:
            return "overdue"
        if now >= due - timedelta(days=DUE_WINDOW_DAYS):
            return "due"
        return "ok"


class Rotation(models.Model):
    """When a credential was set and by whom: never its value."""

    class Action(models.TextChoices):
        SET = "set", _("set")
        ROTATED = "rotated", _("rotated")
        CLEARED = "cleared", _("removed")

    client = models.ForeignKey(RelayClient, on_delete=models.CASCADE, related_name="rotations")
    action = models.CharField(max_length=10, choices=Action.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")  # fmt: skip
    by_username = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.client} {self.action} {self.at:%Y-%m-%d}"


class RelayTest(models.Model):
    """One test send: its steps (written live) and what the server answered."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting")
        RUNNING = "running", _("running")
        PASS = "pass", _("passed")
        FAIL = "fail", _("failed")
        ERROR = "error", _("could not run")

    client = models.ForeignKey(RelayClient, on_delete=models.CASCADE, related_name="tests")
    recipient = models.EmailField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    steps = models.JSONField(default=list, blank=True)
    reference = models.CharField(max_length=40, blank=True)
    message_id = models.CharField(max_length=300, blank=True)
    error = models.CharField(max_length=500, blank=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")  # fmt: skip
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.client} → {self.recipient}"

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.PASS, self.Status.FAIL, self.Status.ERROR}
