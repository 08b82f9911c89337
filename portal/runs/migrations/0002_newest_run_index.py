from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="proberun",
            index=models.Index(fields=["tenant", "probe", "-id"], name="runs_newest_per_test"),
        ),
    ]
