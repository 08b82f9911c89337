"""Verification of the audit log: the chain in the database against the audit keys and the
checkpoints kept outside it, plus the append-only triggers.

What each check catches (README "Audit log integrity" says the same for operators):
* a link or sequence gap — an event removed or reordered;
* an HMAC mismatch — an event edited, or hashes recomputed without the audit key;
* an unkeyed event outside the legacy range vouched for by ``audit.chain_keyed``;
* a checkpoint whose event now has another hash, or whose seq is past the end of the chain —
  events replaced, or the newest events deleted (truncation);
* a missing, disabled or altered trigger.
"""

from dataclasses import dataclass

from django.db import connection

from portal.audit import checkpoints, db_guard, legacy
from portal.audit.api import GENESIS
from portal.audit.models import AuditAnchor, AuditEvent


@dataclass(frozen=True)
class Break:
    """Where the chain first fails: an event, or a seq that should exist and does not."""

    seq: int
    event: AuditEvent | None = None

    @property
    def label(self) -> str:
        if self.event is None:
            return f"event #{self.seq} (missing)"
        return f"event #{self.seq} (id {self.event.pk}, {self.event.action})"


def _first_keyed(from_seq: int):
    return AuditEvent.objects.filter(seq__gte=from_seq).exclude(key_id="").order_by("seq").first()


def verify_chain(batch_size: int = 2000, checkpoint_files=()):
    """Walk the chain in order; return (checked_count, first Break or None, reason).

    ``checkpoint_files`` adds checkpoint copies kept elsewhere (e.g. received by email) to the
    ones in AUDIT_CHECKPOINT_DIR.
    """
    pins, cp_problems = checkpoints.load(extra_files=checkpoint_files)
    if cp_problems:
        seq, reason = cp_problems[0]
        return 0, Break(seq), reason
    previous_hash, previous_seq, checked, last_seq = GENESIS, None, 0, 0
    qs = AuditEvent.objects.order_by("seq")
    # After a retention purge the chain starts at the newest anchor: the first kept event
    # must carry the purged event's hash.
    anchor = AuditAnchor.objects.order_by("-seq").first()
    # The purge that wrote the anchor recorded itself in the chain it kept; an anchor without
    # that event was not written by a purge.
    first_kept, purge_seen = None, anchor is None
    if anchor is not None:
        previous_hash, previous_seq, last_seq = anchor.prev_hash, anchor.seq - 1, anchor.seq - 1
    first_keyed = _first_keyed(last_seq + 1)
    legacy_through = legacy.vouched_through(first_keyed) if first_keyed is not None else 0
    while True:
        page = list(qs.filter(seq__gt=last_seq)[:batch_size])
        if not page:
            break
        for event in page:
            reason = _event_problem(event, previous_seq, previous_hash, legacy_through, pins)
            if reason:
                return checked, Break(event.seq, event), reason
            first_kept = first_kept or event
            if not purge_seen and _records_anchor(event, anchor):
                purge_seen = True
            previous_hash, previous_seq = event.hash, event.seq
            checked += 1
        last_seq = page[-1].seq
    if not purge_seen and first_kept is not None:
        return (
            checked,
            Break(first_kept.seq, first_kept),
            ("the chain starts at an anchor no purge recorded"),
        )
    newest = max((cp for pinned in pins.values() for cp in pinned), key=lambda cp: cp["seq"],
                 default=None)  # fmt: skip
    if newest is not None and newest["seq"] > (previous_seq or 0):
        return (
            checked,
            Break((previous_seq or 0) + 1),
            (
                f"the chain ends at #{previous_seq or 0}, but the checkpoint of {newest['time']} "
                f"recorded #{newest['seq']}: the newest events were deleted"
            ),
        )
    return checked, None, ""


def _event_problem(event, previous_seq, previous_hash, legacy_through, pins) -> str:
    if previous_seq is not None and event.seq != previous_seq + 1:
        return f"sequence gap: expected #{previous_seq + 1}"
    if event.prev_hash != previous_hash:
        return "previous-hash link broken (event removed or reordered)"
    if not event.key_id and event.seq > legacy_through:
        return (
            "not sealed with an audit key (plain SHA-256): only events before keying began "
            "may be unkeyed (event forged, or the chain recomputed without the key)"
        )
    expected = event.compute_hash()
    if not expected:
        return (
            f"sealed with audit key id {event.key_id}, which AUDIT_KEY no longer holds: "
            "add that key back after the newest one"
        )
    if expected != event.hash:
        return (
            "content does not match its HMAC (event edited, or the chain recomputed "
            "without the audit key)"
        )
    for pin in pins.get(event.seq, ()):
        if pin["hash"] != event.hash:
            return (
                f"differs from the checkpoint of {pin['time']} (the event was replaced or the "
                "chain rewritten)"
            )
    return ""


def _records_anchor(event: AuditEvent, anchor) -> bool:
    after = event.after if isinstance(event.after, dict) else {}
    return (
        event.action == "audit.purge"
        and after.get("through_seq") == anchor.seq - 1
        and after.get("export_sha256") == anchor.export_sha256
    )


def full_check(checkpoint_files=()) -> dict:
    """Chain, checkpoints and triggers, as one JSON-able outcome (what audit.verify records)."""
    checked, bad, reason = verify_chain(checkpoint_files=checkpoint_files)
    guard = db_guard.problems(connection)
    newest = checkpoints.newest()
    return {
        "checked": checked,
        "intact": bad is None and not guard,
        "first_bad_seq": bad.seq if bad is not None else None,
        "first_bad": bad.label if bad is not None else "",
        "reason": reason,
        "guard_problems": guard,
        "last_checkpoint": {"seq": newest["seq"], "time": newest["time"]} if newest else None,
    }
