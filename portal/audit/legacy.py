"""Events written before events were keyed: plain SHA-256, vouched for by one keyed event.

Migration 0007 appends ``audit.chain_keyed`` sealed with the audit key, naming the last unkeyed
event (``legacy_through_seq``) and its hash. Its own HMAC covers its ``prev_hash`` — the legacy
head — so every legacy event before it is pinned by the keyed chain: none can be edited or
removed without breaking that link. ``verify`` accepts an unkeyed event only at or below that
seq; an unkeyed event anywhere else (a rehash with plain SHA-256 posing as legacy) is reported.
"""

import datetime as dt

from django.db import transaction

from portal.audit import keys

ACTION = "audit.chain_keyed"


def vouch_for_legacy(model) -> dict | None:
    """Append the keyed event vouching for the unkeyed events before it (once; none if there are
    none). ``model`` is AuditEvent or its historical migration model."""
    from portal.audit.api import _lock_chain
    from portal.audit.models import compute_hash

    with transaction.atomic():
        _lock_chain()
        last = model.objects.order_by("-seq").first()
        if last is None or last.key_id:
            return None
        legacy = {
            "legacy_through_seq": last.seq,
            "legacy_head": last.hash,
            "legacy_count": model.objects.filter(key_id="").count(),
        }
        event = model(
            seq=last.seq + 1,
            prev_hash=last.hash,
            created_at=dt.datetime.now(dt.UTC),
            action=ACTION,
            target_type="audit.chain",
            target_label="audit chain",
            after=legacy,
            result="success",
            key_id=keys.current().id,
        )
        event.hash = compute_hash(event)
        event.save(force_insert=True)
    return legacy


def vouched_through(event) -> int:
    """The last legacy seq a keyed event vouches for (0 when it is no such event)."""
    after = event.after if isinstance(event.after, dict) else {}
    through = after.get("legacy_through_seq")
    if event.action == ACTION and through == event.seq - 1:
        return through
    return 0
