"""Make the audit table append-only in the database itself, not only in the ORM."""

from django.db import migrations


def forward(apps, schema_editor):
    from portal.audit import db_guard

    db_guard.install(schema_editor.connection)


def backward(apps, schema_editor):
    from portal.audit import db_guard

    db_guard.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
