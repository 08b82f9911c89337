"""Retention: events older than AUDIT_RETENTION_DAYS are exported to a JSON Lines file under
VAR_DIR/audit-exports/, then purged; an anchor keeps the rest of the chain verifiable, and the
purge itself is an audit event. AUDIT_RETENTION_DAYS=0 keeps everything forever."""

import datetime as dt
import hashlib
import os
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from portal.audit import db_guard, export
from portal.audit.api import _lock_chain, record
from portal.audit.models import AuditAnchor, AuditEvent


def export_dir() -> Path:
    folder = Path(settings.VAR_DIR) / "audit-exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def purge_expired(now: dt.datetime | None = None) -> dict:
    days = settings.AUDIT_RETENTION_DAYS
    if not days:
        return {"purged": 0, "reason": "retention disabled"}
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(days=days)
    # Seq and time grow together; the purge takes the oldest events up to the last one before
    # the cutoff, so what remains is one unbroken stretch of the chain.
    last_old = AuditEvent.objects.filter(created_at__lt=cutoff).order_by("-seq").first()
    if last_old is None:
        return {"purged": 0, "reason": "nothing older than the cutoff"}
    through = last_old.seq
    old = AuditEvent.objects.filter(seq__lte=through, created_at__lt=cutoff)

    # 1. The export is written (and flushed to disk) before anything is deleted.
    path = export_dir() / f"audit-purge-{now:%Y%m%dT%H%M%SZ}-through-{through}.jsonl"
    digest, count = hashlib.sha256(), 0
    with open(path, "w", encoding="utf-8") as fh:
        for line in export.jsonl_lines(export.iter_rows(old)):
            fh.write(line)
            digest.update(line.encode())
            count += 1
        fh.flush()
        os.fsync(fh.fileno())

    # 2. Purge under the chain lock and the guard's permit; anchor the first kept event.
    with transaction.atomic():
        _lock_chain()
        db_guard.permit_purge(connection, through_seq=through, before=cutoff)
        deleted = old.all()._raw_delete(old.db)
        db_guard.end_purge(connection)
        AuditAnchor.objects.create(
            seq=through + 1,
            prev_hash=last_old.hash,
            purged_count=deleted,
            purged_before=cutoff,
            export_file=str(path),
            export_sha256=digest.hexdigest(),
        )
        outcome = {
            "purged": deleted,
            "exported": count,
            "through_seq": through,
            "before": cutoff.isoformat(),
            "retention_days": days,
            "export_file": path.name,
            "export_sha256": digest.hexdigest(),
        }
        record(
            "audit.purge",
            target={"type": "audit.chain", "id": "", "label": "audit chain"},
            after=outcome,
        )
    return outcome
