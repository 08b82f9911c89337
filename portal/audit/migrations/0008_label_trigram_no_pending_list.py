"""PostgreSQL: the audit label trigram index takes new events directly, with no pending list.

With GIN's default ``fastupdate``, new entries wait in a pending list that every search reads
in full until a vacuum merges it (up to ``gin_pending_list_limit``, 4 MB): most of what a search
for a rare word reads. Audit events are written one at a time, so adding each to the index
directly costs little. The list already pending is merged now. Where 0005 could not create the
index (no pg_trgm), there is nothing to change.
"""

from django.db import migrations

INDEX = "audit_event_label_trgm"


def _has_index(cursor) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [INDEX])
    return cursor.fetchone()[0]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _has_index(cursor):
            cursor.execute(f"ALTER INDEX {INDEX} SET (fastupdate = off)")
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [INDEX])


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _has_index(cursor):
            cursor.execute(f"ALTER INDEX {INDEX} RESET (fastupdate)")


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_keyed_events")]
    operations = [migrations.RunPython(forward, backward)]
