import hashlib
import json

from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.audit import keys


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events are append-only.")

    def delete(self):
        raise AppendOnlyError("Audit events are append-only.")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are append-only.")


class AuditEvent(models.Model):
    class Result(models.TextChoices):
        SUCCESS = "success", _("Success")
        DENIED = "denied", _("Denied")
        # The action was carried out and its outcome is a failure (a test that failed, a job
        # that could not start); "error" is kept for events written before this value existed.
        FAILURE = "failure", _("Failure")
        ERROR = "error", _("Error")

    # Position in the hash chain; assigned under the append lock, never reused.
    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    target_type = models.CharField(max_length=80, blank=True, db_index=True)
    target_id = models.CharField(max_length=80, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    tenant_id = models.CharField(max_length=80, blank=True, db_index=True)
    tenant_label = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    job_id = models.CharField(max_length=64, blank=True, db_index=True)
    result = models.CharField(max_length=10, choices=Result.choices, default=Result.SUCCESS)
    prev_hash = models.CharField(max_length=64)
    # Id of the audit key whose HMAC-SHA256 is ``hash``; blank only for events written before
    # events were keyed (plain SHA-256, vouched for by the keyed "audit.chain_keyed" event).
    key_id = models.CharField(max_length=16, blank=True, default="")
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        default_permissions = ("view",)
        # The review page filters by one of these and pages by seq, newest first.
        indexes = [
            models.Index(fields=["actor_username", "-seq"], name="audit_actor_seq"),
            models.Index(fields=["action", "-seq"], name="audit_action_seq"),
            models.Index(fields=["target_type", "-seq"], name="audit_target_seq"),
            models.Index(fields=["tenant_id", "-seq"], name="audit_tenant_seq"),
            models.Index(fields=["result", "-seq"], name="audit_result_seq"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.action} {self.target_label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are append-only.")

    # The fields covered by the hash, in a fixed order.
    HASHED_FIELDS = (
        "seq", "created_at", "actor_id", "actor_username", "action", "target_type",
        "target_id", "target_label", "tenant_id", "tenant_label", "before", "after",
        "client_ip", "user_agent", "request_id", "job_id", "result", "prev_hash",
    )  # fmt: skip

    def canonical(self) -> bytes:
        return canonical(self)

    def compute_hash(self) -> str:
        """The hash this event should carry; "" when its key is no longer configured."""
        return compute_hash(self)


def canonical(event) -> bytes:
    """The bytes an event's hash covers (works on historical migration models too)."""
    data = {name: getattr(event, name) for name in AuditEvent.HASHED_FIELDS}
    data["created_at"] = event.created_at.isoformat(timespec="microseconds")
    if event.key_id:
        # Unkeyed (legacy) events keep the exact bytes they were hashed with.
        data["key_id"] = event.key_id
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(event) -> str:
    if not event.key_id:
        return hashlib.sha256(canonical(event)).hexdigest()
    key = keys.find(event.key_id)
    return key.mac(canonical(event)) if key is not None else ""


class AuditAnchor(models.Model):
    """Where the chain starts after a retention purge: the first kept event and its link.

    ``verify_chain`` starts from the newest anchor instead of the genesis hash.
    """

    seq = models.BigIntegerField(unique=True)
    prev_hash = models.CharField(max_length=64)
    purged_count = models.BigIntegerField()
    purged_before = models.DateTimeField()
    export_file = models.CharField(max_length=300, blank=True)
    export_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-seq"]
        default_permissions = ()

    def __str__(self):
        return f"anchor at #{self.seq}"


class AuditPurgePermit(models.Model):
    """Exists only inside the purge's transaction: the SQLite trigger admits those deletes."""

    through_seq = models.BigIntegerField()
    before = models.DateTimeField()

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"purge permit through #{self.through_seq}"
