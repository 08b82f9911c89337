from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("grants", "0003_application_ews_uses_tenantews"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="grant",
            index=models.Index(fields=["-requested_at", "-id"], name="grants_newest_first"),
        ),
    ]
