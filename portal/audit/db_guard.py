"""Database-level append-only guard for the audit table (PostgreSQL and SQLite triggers).

UPDATE and TRUNCATE are always refused. DELETE is refused too, except for the sanctioned
retention purge (``portal.audit.retention``), and only of events older than its cutoff:

* PostgreSQL: the purge's transaction sets ``SET LOCAL audit.purge = 'on'`` and
  ``audit.purge_before`` (a timestamp); the trigger admits a row only when both are present and
  the row is older.
* SQLite: the purge writes one row to ``audit_auditpurgepermit`` in the same transaction (and
  removes it before committing); the trigger admits a row only when a permit covers its
  ``seq`` and it is older than the permit's ``before``.

Retention anchors (``audit_auditanchor``) are append-only without exception: a purge adds one,
nothing ever changes or removes one.
"""

PG_INSTALL = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
DECLARE
    cutoff text;
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(current_setting('audit.purge', true), '') = 'on' THEN
        cutoff := coalesce(current_setting('audit.purge_before', true), '');
        IF cutoff <> '' THEN
            IF OLD.created_at < cutoff::timestamptz THEN
                RETURN OLD;
            END IF;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
CREATE TRIGGER audit_event_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""
PG_INSTALL_ANCHOR = """
CREATE OR REPLACE FUNCTION audit_anchor_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit anchors are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_anchor_append_only ON audit_auditanchor;
CREATE TRIGGER audit_anchor_append_only
    BEFORE UPDATE OR DELETE ON audit_auditanchor
    FOR EACH ROW EXECUTE FUNCTION audit_anchor_refuse_change();
DROP TRIGGER IF EXISTS audit_anchor_no_truncate ON audit_auditanchor;
CREATE TRIGGER audit_anchor_no_truncate
    BEFORE TRUNCATE ON audit_auditanchor
    FOR EACH STATEMENT EXECUTE FUNCTION audit_anchor_refuse_change();
"""
PG_UNINSTALL = """
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
"""
PG_UNINSTALL_ANCHOR = """
DROP TRIGGER IF EXISTS audit_anchor_append_only ON audit_auditanchor;
DROP TRIGGER IF EXISTS audit_anchor_no_truncate ON audit_auditanchor;
"""
SQLITE_INSTALL = [
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only (UPDATE refused)'); END;""",
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_auditevent
       WHEN NOT EXISTS (
           SELECT 1 FROM audit_auditpurgepermit p
           WHERE OLD.seq <= p.through_seq AND OLD.created_at < p.before
       )
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only (DELETE refused)'); END;""",
]
SQLITE_INSTALL_ANCHOR = [
    """CREATE TRIGGER IF NOT EXISTS audit_anchor_no_update BEFORE UPDATE ON audit_auditanchor
       BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only (UPDATE refused)'); END;""",
    """CREATE TRIGGER IF NOT EXISTS audit_anchor_no_delete BEFORE DELETE ON audit_auditanchor
       BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only (DELETE refused)'); END;""",
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS audit_event_no_update;",
    "DROP TRIGGER IF EXISTS audit_event_no_delete;",
]
SQLITE_UNINSTALL_ANCHOR = [
    "DROP TRIGGER IF EXISTS audit_anchor_no_update;",
    "DROP TRIGGER IF EXISTS audit_anchor_no_delete;",
]


def _statements(vendor: str, install: bool, anchors: bool) -> list[str]:
    if vendor == "postgresql":
        if install:
            return [PG_INSTALL] + ([PG_INSTALL_ANCHOR] if anchors else [])
        return [PG_UNINSTALL] + ([PG_UNINSTALL_ANCHOR] if anchors else [])
    if vendor == "sqlite":
        if install:
            return SQLITE_INSTALL + (SQLITE_INSTALL_ANCHOR if anchors else [])
        return SQLITE_UNINSTALL + (SQLITE_UNINSTALL_ANCHOR if anchors else [])
    return []


def _has_anchor_table(connection) -> bool:
    # Early migrations install the guard before the anchor table exists.
    return "audit_auditanchor" in connection.introspection.table_names()


def install(connection) -> None:
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, True, _has_anchor_table(connection)):
            cursor.execute(statement)


def uninstall(connection) -> None:
    """Only for tests that must flush the database."""
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, False, _has_anchor_table(connection)):
            cursor.execute(statement)


def _tables(connection) -> list[str]:
    present = set(connection.introspection.table_names())
    return [t for t in ("audit_auditevent", "audit_auditanchor") if t in present]


def _squash(sql: str) -> str:
    # SQLite keeps a trigger's text without "IF NOT EXISTS" and without the final semicolon.
    return " ".join(sql.replace("IF NOT EXISTS ", "").split()).rstrip(";").rstrip()


def _expected_sqlite() -> dict[str, tuple[str, str]]:
    """name -> (table, normalized CREATE statement)."""
    expected = {}
    for sql in SQLITE_INSTALL + SQLITE_INSTALL_ANCHOR:
        words = _squash(sql).split(" ")
        expected[words[2]] = (words[6], _squash(sql))
    return expected


def _pg_function_bodies() -> dict[str, str]:
    bodies = {}
    for sql in (PG_INSTALL, PG_INSTALL_ANCHOR):
        name = sql.split("FUNCTION ", 1)[1].split("(", 1)[0]
        bodies[name] = " ".join(sql.split("$$")[1].split())
    return bodies


PG_EXPECTED = {
    "audit_event_append_only": ("audit_auditevent", "audit_refuse_change"),
    "audit_event_no_truncate": ("audit_auditevent", "audit_refuse_change"),
    "audit_anchor_append_only": ("audit_auditanchor", "audit_anchor_refuse_change"),
    "audit_anchor_no_truncate": ("audit_auditanchor", "audit_anchor_refuse_change"),
}


def problems(connection) -> list[str]:
    """What is wrong with the append-only guard right now, in words; [] when it is whole.

    A trigger that is gone, disabled, or no longer runs the guard's own code counts: any of
    them lets rows be changed silently.
    """
    tables = _tables(connection)
    found = []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
            actual = {name: (table, _squash(sql or "")) for name, table, sql in cursor.fetchall()}
            for name, (table, sql) in _expected_sqlite().items():
                if table not in tables:
                    continue
                if name not in actual:
                    found.append(f"trigger {name} on {table} is missing")
                elif actual[name] != (table, sql):
                    found.append(f"trigger {name} on {table} has been altered")
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname, c.relname, t.tgenabled, p.proname, p.prosrc "
                "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE NOT t.tgisinternal AND c.relname = ANY(%s) "
                "AND c.relnamespace = to_regnamespace(current_schema())::oid",
                [tables],
            )
            actual = {row[0]: row[1:] for row in cursor.fetchall()}
            bodies = _pg_function_bodies()
            for name, (table, function) in PG_EXPECTED.items():
                if table not in tables:
                    continue
                if name not in actual:
                    found.append(f"trigger {name} on {table} is missing")
                    continue
                relname, enabled, proname, source = actual[name]
                if enabled not in ("O", "A"):
                    found.append(f"trigger {name} on {table} is disabled")
                elif proname != function or " ".join(source.split()) != bodies[function]:
                    found.append(f"trigger {name} on {table} has been altered")
    return found


def restore(connection) -> list[str]:
    """Put back whatever ``problems`` finds (idempotent); returns what was wrong."""
    wrong = problems(connection)
    if wrong:
        uninstall(connection)
        install(connection)
    return wrong


def permit_purge(connection, *, through_seq: int, before) -> None:
    """Inside the purge's transaction: admit deleting events up to ``through_seq`` older than
    ``before``. The permit ends with the transaction (PostgreSQL) or ``end_purge`` (SQLite)."""
    from portal.audit.models import AuditPurgePermit

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('audit.purge', 'on', true)")
            cursor.execute(
                "SELECT set_config('audit.purge_before', %s, true)", [before.isoformat()]
            )
    AuditPurgePermit.objects.create(through_seq=through_seq, before=before)


def end_purge(connection) -> None:
    from portal.audit.models import AuditPurgePermit

    AuditPurgePermit.objects.all().delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('audit.purge', 'off', true)")
