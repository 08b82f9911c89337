import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from portal.audit import context
from portal.audit.api import GENESIS, record
from portal.audit.censor import CENSOR
from portal.audit.models import AppendOnlyError, AuditEvent
from portal.audit.verify import verify_chain

pytestmark = pytest.mark.django_db


def _table():
    return connection.ops.quote_name(AuditEvent._meta.db_table)


def test_record_fills_every_field_from_context(admin_user):
    token = context.activate(
        context.AuditContext(
            actor_id=admin_user.pk,
            actor_username="alice-admin",
            client_ip="192.0.2.7",
            user_agent="pytest-agent",
            request_id="req-1",
        )
    )
    try:
        event = record(
            "tenant.update",
            target={"type": "tenants.tenant", "id": 9, "label": "Contoso"},
            before={"name": "Old", "client_secret": "s3cret"},
            after={"name": "New", "nested": {"password": "hunter2", "port": 587}},
        )
    finally:
        context.deactivate(token)
    event.refresh_from_db()
    assert event.seq == 1 and event.prev_hash == GENESIS
    assert (event.actor_id, event.actor_username) == (admin_user.pk, "alice-admin")
    assert (event.client_ip, event.user_agent, event.request_id) == (
        "192.0.2.7",
        "pytest-agent",
        "req-1",
    )
    assert (event.target_type, event.target_id, event.target_label) == (
        "tenants.tenant",
        "9",
        "Contoso",
    )
    assert event.before == {"name": "Old", "client_secret": CENSOR}
    assert event.after == {"name": "New", "nested": {"password": CENSOR, "port": 587}}
    assert event.result == "success"
    assert event.hash == event.compute_hash()


@pytest.mark.django_db(transaction=True)
def test_request_gives_events_an_actor_ip_and_request_id(admin_client):
    # Autocommit as in production: work deferred to on_commit runs inside the request.
    response = admin_client.post(
        "/audit/", HTTP_USER_AGENT="Browser/1.0", REMOTE_ADDR="203.0.113.5"
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="job.start")
    assert event.actor_username == "alice-admin"
    assert event.client_ip == "203.0.113.5"
    assert event.user_agent == "Browser/1.0"
    assert event.request_id == response["X-Request-ID"]


def test_chain_links_events():
    events = [record(f"test.{i}") for i in range(5)]
    for previous, current in zip(events, events[1:], strict=False):
        assert current.prev_hash == previous.hash
        assert current.seq == previous.seq + 1
    assert verify_chain() == (5, None, "")


def test_orm_refuses_update_and_delete():
    event = record("test.one")
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.one"


def test_database_trigger_refuses_raw_update_and_delete():
    event = record("test.one")
    for sql in (
        f"UPDATE {_table()} SET action = 'x' WHERE id = %s",
        f"DELETE FROM {_table()} WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.one"


def _tamper(sql, params):
    """Change the table the way an intruder with database access would: guard off, SQL, guard on."""
    from portal.audit import db_guard

    db_guard.uninstall(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        db_guard.install(connection)


def _verify_fails_at(seq):
    with pytest.raises(CommandError, match=f"event #{seq}"):
        call_command("audit_verify")


def test_audit_verify_passes_on_intact_chain(capsys):
    for i in range(3):
        record(f"test.{i}")
    call_command("audit_verify")
    assert "3 events verified" in capsys.readouterr().out


def test_audit_verify_detects_an_edited_event():
    events = [record(f"test.{i}", after={"n": i}) for i in range(4)]
    _tamper(f"UPDATE {_table()} SET target_label = 'forged' WHERE id = %s", [events[2].pk])
    _verify_fails_at(3)


def test_audit_verify_detects_a_deleted_event():
    events = [record(f"test.{i}") for i in range(4)]
    _tamper(f"DELETE FROM {_table()} WHERE id = %s", [events[1].pk])
    _verify_fails_at(3)


def test_audit_verify_detects_reordered_events():
    events = [record(f"test.{i}") for i in range(4)]
    a, b = events[1], events[2]
    _tamper(f"UPDATE {_table()} SET seq = -1 WHERE id = %s", [a.pk])
    _tamper(f"UPDATE {_table()} SET seq = %s WHERE id = %s", [a.seq, b.pk])
    _tamper(f"UPDATE {_table()} SET seq = %s WHERE id = %s", [b.seq, a.pk])
    _verify_fails_at(2)


def test_audit_verify_detects_a_rehashed_forgery():
    """Editing a row and recomputing its own hash still breaks the next link."""
    events = [record(f"test.{i}") for i in range(3)]
    forged = AuditEvent.objects.get(pk=events[0].pk)
    forged.action = "forged"
    _tamper(
        f"UPDATE {_table()} SET action = 'forged', hash = %s WHERE id = %s",
        [forged.compute_hash(), forged.pk],
    )
    _verify_fails_at(2)


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_do_not_fork_the_chain():
    errors = []

    def writer(n):
        try:
            for i in range(10):
                record(f"test.thread{n}.{i}")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert AuditEvent.objects.count() == 40
    assert verify_chain() == (40, None, "")
    assert AuditEvent.objects.values("prev_hash").distinct().count() == 40
