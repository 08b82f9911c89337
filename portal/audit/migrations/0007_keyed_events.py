"""Events are now sealed with HMAC-SHA256 under AUDIT_KEY; the events already written stay as they
are (plain SHA-256) and one keyed event vouches for them (see portal.audit.legacy)."""

from django.db import migrations, models


def vouch(apps, schema_editor):
    from portal.audit import db_guard
    from portal.audit.legacy import vouch_for_legacy

    # SQLite adds the column by rebuilding the table, which drops its triggers.
    db_guard.restore(schema_editor.connection)

    vouch_for_legacy(apps.get_model("audit", "AuditEvent"))


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_anchor_guard")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="key_id",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        # "failure": an action carried out whose outcome is a failure (choices only, no SQL).
        migrations.AlterField(
            model_name="auditevent",
            name="result",
            field=models.CharField(
                choices=[
                    ("success", "Success"),
                    ("denied", "Denied"),
                    ("failure", "Failure"),
                    ("error", "Error"),
                ],
                default="success",
                max_length=10,
            ),
        ),
        migrations.RunPython(vouch, migrations.RunPython.noop),
    ]
