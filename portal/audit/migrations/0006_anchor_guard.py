from django.db import migrations


def install_guard(apps, schema_editor):
    """Retention anchors become append-only, like the events they anchor."""
    from portal.audit import db_guard

    db_guard.install(schema_editor.connection)


def noop(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_label_trigram_index"),
    ]

    operations = [
        migrations.RunPython(install_guard, noop),
    ]
