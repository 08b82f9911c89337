"""Append many events at once with a valid chain — for tests and benchmarks, not for views.

Views and tasks always use ``portal.audit.api.record()``.
"""

import datetime as dt

from django.db import transaction

from portal.audit.api import GENESIS, _lock_chain, seal
from portal.audit.models import AuditEvent


def bulk_append(rows, *, batch_size: int = 5000, start: dt.datetime | None = None) -> int:
    """Append one event per dict in ``rows`` (AuditEvent field values); returns the count.

    ``created_at`` defaults to ``start`` plus one millisecond per event (or now).
    """
    count = 0
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
        seq, prev = (last["seq"], last["hash"]) if last else (0, GENESIS)
        clock = start or dt.datetime.now(dt.UTC)
        batch = []
        for row in rows:
            seq += 1
            event = AuditEvent(**row)
            event.seq = seq
            event.prev_hash = prev
            if event.created_at is None:
                event.created_at = clock + dt.timedelta(milliseconds=seq)
            seal(event)
            prev = event.hash
            batch.append(event)
            if len(batch) >= batch_size:
                AuditEvent.objects.bulk_create(batch)
                count += len(batch)
                batch = []
        if batch:
            AuditEvent.objects.bulk_create(batch)
            count += len(batch)
    return count
