import re

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.tenants.models import Tenant


class Probe(models.TextChoices):
    DNS = "dns", _("Exchange DNS")
    SMTP = "smtp", _("SMTP submission")
    IMAP = "imap", _("IMAP4")
    POP3 = "pop3", _("POP3")
    AUTODISCOVER = "autodiscover", _("Autodiscover")
    EWS = "ews", _("EWS (service account access)")
    MAPI = "mapi", _("MAPI over HTTP")
    TLS = "tls", _("TLS certificate")
    TCP = "tcp", _("TCP port")


# What "test everything" and a tenant's page offer, in the Analyzer's order.
TENANT_PROBES = [
    Probe.DNS, Probe.AUTODISCOVER, Probe.EWS, Probe.MAPI, Probe.SMTP, Probe.IMAP, Probe.POP3,
    Probe.TLS,
]  # fmt: skip

_DAYS_LEFT = re.compile(r"\((\d+) days left\)|expires in (\d+) days")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    PASS = "pass", _("Passed")
    WARN = "warn", _("Passed with warnings")
    FAIL = "fail", _("Failed")
    ERROR = "error", _("Could not run")


DONE = {RunStatus.PASS, RunStatus.WARN, RunStatus.FAIL, RunStatus.ERROR}


class Schedule(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="schedules")
    probe = models.CharField(max_length=20, choices=Probe.choices)
    interval_minutes = models.PositiveIntegerField(default=15)
    enabled = models.BooleanField(default=True)
    notify_emails = models.JSONField(default=list, blank=True)
    next_due = models.DateTimeField(db_index=True)
    last_status = models.CharField(max_length=10, choices=RunStatus.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "probe"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "probe"], name="one_schedule_per_probe")
        ]

    def __str__(self):
        return f"{self.tenant} · {self.get_probe_display()} every {self.interval_minutes} min"


class ProbeRun(models.Model):
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="runs"
    )
    probe = models.CharField(max_length=20, choices=Probe.choices)
    target = models.CharField(max_length=300, blank=True)
    # Non-secret parameters of an ad-hoc run (host, port, security…), shown on its page.
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    steps = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=500, blank=True)
    cert_days_left = models.IntegerField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    schedule = models.ForeignKey(Schedule, null=True, blank=True, on_delete=models.SET_NULL)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "probe", "-created_at"]),
            # The newest run of a tenant's test in one index lookup (portal.runs.overview).
            models.Index(fields=["tenant", "probe", "-id"], name="runs_newest_per_test"),
        ]

    def __str__(self):
        return f"{self.get_probe_display()} · {self.target or self.tenant}"

    @property
    def is_done(self) -> bool:
        return self.status in DONE

    @staticmethod
    def status_from_steps(steps: list[dict]) -> str:
        statuses = {s.get("status") for s in steps}
        if "fail" in statuses:
            return RunStatus.FAIL
        if "warn" in statuses:
            return RunStatus.WARN
        return RunStatus.PASS

    @staticmethod
    def days_left_from_steps(steps: list[dict]) -> int | None:
        for step in steps:
            if step.get("name") == "Certificate validity":
                match = _DAYS_LEFT.search(step.get("detail", ""))
                if match:
                    return int(match.group(1) or match.group(2))
                if "expired" in step.get("detail", ""):
                    return -1
        return None
