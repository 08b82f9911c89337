"""Tamper evidence against someone with write access to the database: they drop the append-only
triggers and rewrite rows with SQL. Keyed events, checkpoints outside the database and the
trigger check must each catch what README says they catch."""

import datetime as dt
import hashlib
import json

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from portal.audit import checkpoints, db_guard, keys
from portal.audit.api import GENESIS, record
from portal.audit.legacy import vouch_for_legacy
from portal.audit.models import AuditEvent, canonical
from portal.audit.verify import verify_chain

pytestmark = pytest.mark.django_db

OLD_KEY = "old-audit-key-0123456789-abcdefghijklmnopqrstuvwxyz"
NEW_KEY = "new-audit-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def _table():
    return connection.ops.quote_name(AuditEvent._meta.db_table)


def _sql(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _events(n, prefix="test"):
    return [record(f"{prefix}.{i}", after={"n": i}) for i in range(n)]


def _verify_error() -> str:
    with pytest.raises(CommandError) as failure:
        call_command("audit_verify")
    return str(failure.value)


def _rewrite_from(seq, *, edit, keep_key_id):
    """The intruder's rehash: edit one event, then recompute every later hash with plain
    SHA-256 (they do not have the audit key) so each link matches again."""
    previous = AuditEvent.objects.get(seq=seq - 1).hash if seq > 1 else GENESIS
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        if event.seq == seq:
            edit(event)
        event.prev_hash = previous
        if not keep_key_id:
            event.key_id = ""
        event.hash = hashlib.sha256(canonical(event)).hexdigest()
        _sql(
            f"UPDATE {_table()} SET target_label = %s, prev_hash = %s, key_id = %s, hash = %s "
            "WHERE id = %s",
            [event.target_label, event.prev_hash, event.key_id, event.hash, event.pk],
        )
        previous = event.hash


@pytest.mark.parametrize("keep_key_id", [True, False], ids=["key-id-kept", "posing-as-legacy"])
def test_edit_and_full_sha256_rehash_is_detected(keep_key_id):
    _events(6)
    db_guard.uninstall(connection)
    _rewrite_from(2, edit=lambda e: setattr(e, "target_label", "forged"), keep_key_id=keep_key_id)
    # Every link holds again: only the key tells the forgery apart.
    rows = list(AuditEvent.objects.order_by("seq").values("prev_hash", "hash"))
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(rows, rows[1:], strict=False))
    checked, bad, reason = verify_chain()
    assert (checked, bad.seq) == (1, 2)
    assert ("HMAC" in reason) if keep_key_id else ("not sealed with an audit key" in reason)
    assert "event #2" in _verify_error()


def test_deleting_the_newest_events_after_a_checkpoint_is_truncation():
    _events(5)
    written = checkpoints.write()
    assert written["seq"] == 5
    db_guard.uninstall(connection)
    _sql(f"DELETE FROM {_table()} WHERE seq >= 4")
    checked, bad, reason = verify_chain()
    assert bad.seq == 4 and bad.event is None and checked == 3
    assert "recorded #5: the newest events were deleted" in reason
    assert "event #4 (missing)" in _verify_error()


def test_events_newer_than_the_last_checkpoint_are_the_documented_blind_spot():
    """README: events written after the newest checkpoint can be deleted unnoticed."""
    _events(3)
    checkpoints.write()
    _events(2, prefix="later")
    db_guard.uninstall(connection)
    _sql(f"DELETE FROM {_table()} WHERE seq > 3")
    assert verify_chain() == (3, None, "")


def test_deleting_a_middle_event_is_detected():
    _events(5)
    db_guard.uninstall(connection)
    _sql(f"DELETE FROM {_table()} WHERE seq = 3")
    _, bad, reason = verify_chain()
    assert bad.seq == 4 and "sequence gap" in reason
    assert "event #4" in _verify_error()


def test_a_rewrite_with_the_key_is_still_caught_by_a_checkpoint(settings):
    """Even someone who also stole the key cannot change what a checkpoint pinned."""
    _events(4)
    checkpoints.write()
    db_guard.uninstall(connection)
    key = keys.current()
    previous = AuditEvent.objects.get(seq=1).hash
    for event in AuditEvent.objects.filter(seq__gte=2).order_by("seq"):
        event.action = "forged" if event.seq == 2 else event.action
        event.prev_hash = previous
        event.hash = key.mac(canonical(event))
        _sql(
            f"UPDATE {_table()} SET action = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [event.action, event.prev_hash, event.hash, event.pk],
        )
        previous = event.hash
    _, bad, reason = verify_chain()
    assert bad.seq == 4 and "differs from the checkpoint" in reason


def test_missing_triggers_are_reported_everywhere_and_migrate_restores_them(client):
    _events(2)
    db_guard.uninstall(connection)
    problems = db_guard.problems(connection)
    assert any("audit_auditevent is missing" in p for p in problems)

    assert "Append-only guard: trigger" in _verify_error()
    health = client.get("/healthz")
    assert health.status_code == 200
    body = json.loads(health.content)
    assert body["status"] == "degraded" and body["audit_guard"]["ok"] is False
    warnings = [m for m in run_checks(databases=["default"]) if m.id == "portal.W010"]
    assert len(warnings) == len(problems)

    call_command("migrate", verbosity=0)
    assert db_guard.problems(connection) == []
    restored = AuditEvent.objects.get(action="audit.guard_restore")
    assert restored.before == {"problems": problems}
    assert json.loads(client.get("/healthz").content)["audit_guard"]["ok"] is True
    assert not [m for m in run_checks(databases=["default"]) if m.id == "portal.W010"]
    call_command("audit_verify")


def test_a_disabled_or_neutered_trigger_counts_as_missing():
    if connection.vendor == "postgresql":
        _sql(f"ALTER TABLE {_table()} DISABLE TRIGGER audit_event_append_only")
        assert db_guard.problems(connection) == [
            "trigger audit_event_append_only on audit_auditevent is disabled"
        ]
        db_guard.restore(connection)
        _sql(
            "CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$ "
            "BEGIN RETURN OLD; END; $$ LANGUAGE plpgsql"
        )
        altered = {"audit_event_append_only", "audit_event_no_truncate"}
    else:
        _sql("DROP TRIGGER audit_event_no_delete")
        _sql(
            f"CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON {_table()} "
            "WHEN 0 BEGIN SELECT 1; END"
        )
        altered = {"audit_event_no_delete"}
    assert set(db_guard.problems(connection)) == {
        f"trigger {name} on audit_auditevent has been altered" for name in altered
    }
    db_guard.restore(connection)
    assert db_guard.problems(connection) == []


def test_key_rotation_keeps_old_events_verifiable(settings):
    settings.AUDIT_KEYS = [OLD_KEY]
    old = _events(3, prefix="old")
    settings.AUDIT_KEYS = [NEW_KEY, OLD_KEY]
    new = _events(3, prefix="new")
    assert {e.key_id for e in old} == {keys.key_id(OLD_KEY)}
    assert {e.key_id for e in new} == {keys.key_id(NEW_KEY)}
    assert verify_chain() == (6, None, "")
    settings.AUDIT_KEYS = [NEW_KEY]  # the old key dropped too early
    _, bad, reason = verify_chain()
    assert bad.seq == 1 and "AUDIT_KEY no longer holds" in reason


def _legacy_events(n):
    """Events as the portal wrote them before keys: plain SHA-256, no key id."""
    previous = GENESIS
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for seq in range(1, n + 1):
        event = AuditEvent(seq=seq, prev_hash=previous, action=f"legacy.{seq}",
                           created_at=start + dt.timedelta(minutes=seq))  # fmt: skip
        event.hash = hashlib.sha256(canonical(event)).hexdigest()
        event.save(force_insert=True)
        previous = event.hash


def test_legacy_events_verify_once_a_keyed_event_vouches_for_them():
    _legacy_events(4)
    _, bad, reason = verify_chain()
    assert bad.seq == 1 and "not sealed with an audit key" in reason
    assert vouch_for_legacy(AuditEvent) == {
        "legacy_through_seq": 4,
        "legacy_head": AuditEvent.objects.get(seq=4).hash,
        "legacy_count": 4,
    }
    assert vouch_for_legacy(AuditEvent) is None  # once only
    _events(2)
    assert verify_chain() == (7, None, "")

    # Rewriting a legacy event and rehashing the legacy part no longer meets the keyed link.
    db_guard.uninstall(connection)
    edit = AuditEvent.objects.get(seq=2)
    edit.action = "forged"
    previous = AuditEvent.objects.get(seq=1).hash
    for event in AuditEvent.objects.filter(seq__in=[2, 3, 4]).order_by("seq"):
        event.action = "forged" if event.seq == 2 else event.action
        event.prev_hash = previous
        event.hash = hashlib.sha256(canonical(event)).hexdigest()
        _sql(
            f"UPDATE {_table()} SET action = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [event.action, event.prev_hash, event.hash, event.pk],
        )
        previous = event.hash
    _, bad, reason = verify_chain()
    assert bad.seq == 5 and "previous-hash link broken" in reason
