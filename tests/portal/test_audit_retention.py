"""Retention purge: export first, purge only what is old, anchor keeps the chain verifiable,
the guard admits this purge and nothing else."""

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import DatabaseError, connection, transaction

from portal.audit import db_guard
from portal.audit.bulk import bulk_append
from portal.audit.models import AuditAnchor, AuditEvent
from portal.audit.retention import purge_expired
from portal.audit.tasks import purge_expired_task
from portal.audit.verify import verify_chain

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _old_and_new():
    old = ({"action": "old.event", "created_at": NOW - dt.timedelta(days=100, minutes=-i)}
           for i in range(40))  # fmt: skip
    bulk_append(old)
    new = ({"action": "new.event", "created_at": NOW - dt.timedelta(days=1, minutes=-i)}
           for i in range(10))  # fmt: skip
    bulk_append(new)


def test_zero_keeps_everything(settings):
    settings.AUDIT_RETENTION_DAYS = 0
    _old_and_new()
    assert purge_expired(NOW)["purged"] == 0
    assert AuditEvent.objects.count() == 50


def test_purge_exports_then_purges_and_the_chain_still_verifies(settings, tmp_path):
    settings.AUDIT_RETENTION_DAYS = 30
    settings.VAR_DIR = tmp_path
    _old_and_new()
    outcome = purge_expired(NOW)
    assert outcome["purged"] == outcome["exported"] == 40
    assert not AuditEvent.objects.filter(action="old.event").exists()
    assert AuditEvent.objects.filter(action="new.event").count() == 10

    exported = Path(tmp_path / "audit-exports" / outcome["export_file"])
    lines = [json.loads(x) for x in exported.read_text().splitlines()]
    assert {x["action"] for x in lines} == {"old.event"} and len(lines) == 40
    assert hashlib.sha256(exported.read_bytes()).hexdigest() == outcome["export_sha256"]

    anchor = AuditAnchor.objects.get()
    assert anchor.seq == 41 and anchor.purged_count == 40
    purge_event = AuditEvent.objects.get(action="audit.purge")
    assert purge_event.after["through_seq"] == 40
    checked, bad, reason = verify_chain()
    assert bad is None, reason
    assert checked == 11  # ten kept events and the purge event

    # Nothing left to purge the second time.
    assert purge_expired(NOW)["purged"] == 0


def test_purge_task_and_beat_schedule(settings, tmp_path):
    settings.AUDIT_RETENTION_DAYS = 30
    settings.VAR_DIR = tmp_path
    bulk_append(
        {"action": "ancient", "created_at": NOW - dt.timedelta(days=3650)} for _ in range(3)
    )
    assert purge_expired_task()["purged"] == 3
    entry = django_settings.CELERY_BEAT_SCHEDULE["audit-purge-expired"]
    assert entry["task"] == "audit.purge_expired" and entry["options"]["expires"]


def test_tampering_after_a_purge_is_still_detected(settings, tmp_path):
    settings.AUDIT_RETENTION_DAYS = 30
    settings.VAR_DIR = tmp_path
    _old_and_new()
    purge_expired(NOW)
    first_kept = AuditEvent.objects.order_by("seq").first()
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    db_guard.uninstall(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE seq = %s", [first_kept.seq])
    finally:
        db_guard.install(connection)
    _, bad, reason = verify_chain()
    assert bad is not None and "gap" in reason


def _delete(sql, params):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_guard_refuses_deletes_without_the_permit_and_young_rows_with_it():
    _old_and_new()
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    old = AuditEvent.objects.filter(action="old.event").order_by("seq").first()
    young = AuditEvent.objects.filter(action="new.event").order_by("seq").first()
    with pytest.raises(DatabaseError, match="append-only"):
        _delete(f"DELETE FROM {table} WHERE seq = %s", [old.seq])
    cutoff = NOW - dt.timedelta(days=30)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        db_guard.permit_purge(connection, through_seq=young.seq, before=cutoff)
        with connection.cursor() as cursor:  # a young row stays even with a permit
            cursor.execute(f"DELETE FROM {table} WHERE seq = %s", [young.seq])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        db_guard.permit_purge(connection, through_seq=young.seq, before=cutoff)
        with connection.cursor() as cursor:  # and no row may be changed
            cursor.execute(f"UPDATE {table} SET action = 'x' WHERE seq = %s", [old.seq])
    assert AuditEvent.objects.count() == 50


def test_anchors_cannot_be_changed_or_removed(settings, tmp_path):
    settings.AUDIT_RETENTION_DAYS = 30
    settings.VAR_DIR = tmp_path
    _old_and_new()
    purge_expired(NOW)
    table = connection.ops.quote_name(AuditAnchor._meta.db_table)
    with pytest.raises(DatabaseError, match="append-only"):
        _delete(f"DELETE FROM {table}", [])
    with pytest.raises(DatabaseError, match="append-only"):
        _delete(f"UPDATE {table} SET seq = seq + 5", [])
    assert AuditAnchor.objects.get().seq == 41


def test_an_anchor_no_purge_recorded_is_reported(settings, tmp_path):
    """Someone who deleted old events behind the guard's back and wrote an anchor to hide the
    gap is found out: the chain holds no purge event for that anchor."""
    _old_and_new()
    hidden = AuditEvent.objects.get(seq=40)
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    db_guard.uninstall(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE seq <= 40")
    finally:
        db_guard.install(connection)
    AuditAnchor.objects.create(
        seq=41, prev_hash=hidden.hash, purged_count=40, purged_before=NOW, export_sha256="0" * 64
    )
    checked, bad, reason = verify_chain()
    assert bad is not None and bad.seq == 41
    assert reason == "the chain starts at an anchor no purge recorded"
    assert checked == 10
