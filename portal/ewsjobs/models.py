"""Long EWS jobs: what was asked, per mailbox what happened, and the chunks the work is cut into.

The Job row (portal.jobs) is the job as the rest of the portal sees it (status, who, audit); an
EwsJob holds what only EWS jobs have. Work is cut into Chunks (one mailbox × one batch of items)
that any worker thread on any machine can claim with a lease; a chunk whose holder died is
claimed again once its lease runs out, and then checks Exchange for what was already created.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.grants.models import Grant
from portal.jobs.models import Job
from portal.tenants.models import Tenant


class EwsJob(models.Model):
    class Kind(models.TextChoices):
        SEARCH = "search", _("Mailbox content search")
        PUBLISH = "publish", _("Calendar publishing")
        TASKS = "tasks", _("Task creation")
        RULES = "rules", _("Content rule")

    job = models.OneToOneField(Job, primary_key=True, on_delete=models.CASCADE, related_name="ews")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="ews_jobs")
    grant = models.ForeignKey(Grant, null=True, on_delete=models.SET_NULL, related_name="ews_jobs")
    params = models.JSONField(default=dict)
    dry_run = models.BooleanField(default=False)
    # A rule's real run acts on what its dry run listed (what the person reviewed).
    dry_run_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="real_runs"
    )
    # A retry of failed mailboxes reuses the first job's item keys, so nothing is created twice.
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    key_base = models.CharField(max_length=36)
    batch_size = models.PositiveSmallIntegerField(default=100)
    # Items for publishing and tasks, mailboxes for search and rules (see ``unit``).
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.get_kind_display()} · {self.tenant}"

    @property
    def counts_items(self) -> bool:
        return self.kind in (self.Kind.PUBLISH, self.Kind.TASKS) or (
            self.kind == self.Kind.RULES and not self.dry_run
        )


class Target(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        PARTLY = "partly", _("Done with errors")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    ewsjob = models.ForeignKey(EwsJob, on_delete=models.CASCADE, related_name="targets")
    mailbox = models.CharField(max_length=254)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    existed = models.PositiveIntegerField(default=0)
    found = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)  # see portal/ewsjobs/words.py
    ms = models.PositiveIntegerField(default=0)  # time spent in Exchange calls
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["mailbox"]
        constraints = [
            models.UniqueConstraint(fields=["ewsjob", "mailbox"], name="ewsjobs_target_unique")
        ]

    def __str__(self):
        return self.mailbox


class Chunk(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    ewsjob = models.ForeignKey(EwsJob, on_delete=models.CASCADE, related_name="chunks")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()  # batch number within the mailbox
    start = models.PositiveIntegerField(default=0)  # first item (or result offset)
    count = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    holder = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)  # Exchange asked us to back off
    attempts = models.PositiveSmallIntegerField(default=0)
    busy_waits = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)  # see portal/ewsjobs/words.py

    class Meta:
        ordering = ["ewsjob", "index", "target"]
        constraints = [
            models.UniqueConstraint(
                fields=["ewsjob", "target", "index"], name="ewsjobs_chunk_unique"
            )
        ]
        indexes = [models.Index(fields=["ewsjob", "status"], name="ewsjobs_chunk_status")]

    def __str__(self):
        return f"{self.target_id}#{self.index}"


class Found(models.Model):
    """A message a search (or a rule's dry run) found, and for a rule what happened to it."""

    ewsjob = models.ForeignKey(EwsJob, on_delete=models.CASCADE, related_name="results")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="results")
    position = models.PositiveIntegerField()
    item_id = models.CharField(max_length=512)
    changekey = models.CharField(max_length=512, blank=True)
    folder = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    sender = models.CharField(max_length=320, blank=True)
    received = models.DateTimeField(null=True, blank=True)
    has_attachments = models.BooleanField(default=False)
    size = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, blank=True)  # a rule's real run: done / failed
    error = models.TextField(blank=True)  # see portal/ewsjobs/words.py

    class Meta:
        ordering = ["target__mailbox", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["ewsjob", "target", "position"], name="ewsjobs_found_unique"
            )
        ]

    def __str__(self):
        return self.subject


class Slot(models.Model):
    """One of an application's concurrent EWS requests, shared by every worker on every machine.

    Exchange limits concurrent connections per account (EWSMaxConcurrency, 27): a thread holds a
    slot for one call. A slot whose holder died is free again when its lease runs out.
    """

    key = models.CharField(max_length=120)
    number = models.PositiveSmallIntegerField()
    holder = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "number"], name="ewsjobs_slot_unique")
        ]

    def __str__(self):
        return f"{self.key}/{self.number}"


def new_key_base() -> str:
    return uuid.uuid4().hex
