import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    """A background job as the portal shows it.

    The row is the source of truth, not the broker: a job is claimed by exactly one executor
    (``portal.jobs.execution``), which keeps ``heartbeat_at`` fresh while it works. A job whose
    heartbeat goes stale lost its worker and is re-driven from ``task_name``/``kwargs`` or failed
    (``portal.jobs.reaper``), whatever the broker did with its message.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        # The job itself ran to its end, but what it checked did not pass (a failed test, a
        # broken chain): never shown as a green "Succeeded".
        WARNING = "warning", _("Finished with warnings")
        PROBLEMS = "problems", _("Finished: problems found")
        FAILED = "failed", _("Failed")
        # Stopped on request: what was done stays done, the rest was not started.
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=80)
    label = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=400, blank=True)
    result = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    request_id = models.CharField(max_length=64, blank=True)
    tenant_id = models.CharField(max_length=80, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # What is needed to send the job again without its original message (ids and JSON only;
    # one-time secrets are never kept here, so such jobs are not repeatable).
    task_name = models.CharField(max_length=120, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    # Who holds the job and whether they are still alive.
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the job's message was last handed to the broker: a queued job no worker has taken
    # long after that may have lost its message (a broker restarted without persistence).
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.label

    DONE = frozenset(
        {Status.SUCCEEDED, Status.WARNING, Status.PROBLEMS, Status.FAILED, Status.CANCELLED}
    )
    ACTIVE = frozenset({Status.QUEUED, Status.RUNNING})

    @property
    def is_done(self) -> bool:
        return self.status in self.DONE
