"""PostgreSQL: a trigram index so "target contains" does not scan the whole audit table.

Django's ``icontains`` becomes ``UPPER(target_label::text) LIKE UPPER(%s)`` on PostgreSQL, so the
index is on that expression. Creating the pg_trgm extension needs a privileged role; without it
the migration leaves a notice and the filter keeps working, only slower.
"""

from django.db import migrations, transaction

INDEX = "audit_event_label_trgm"


def forward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON audit_auditevent "
                "USING gin (UPPER(target_label::text) gin_trgm_ops)"
            )
    except Exception as exc:  # noqa: BLE001 - an optional speed-up, never a failed deploy
        print(f"\n  Skipped the audit label trigram index ({exc}); ask a DBA to create pg_trgm.")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_retention_anchor")]
    operations = [migrations.RunPython(forward, backward)]
