from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("filesharing", "0003_file_is_latest_attachment_count"),
    ]

    operations = [
        migrations.CreateModel(
            name="StrayVersionSweep",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("endpoint", models.CharField(blank=True, max_length=1024)),
                ("bucket", models.CharField(max_length=255)),
                ("next_key", models.CharField(blank=True, max_length=1024)),
                ("next_version", models.CharField(blank=True, max_length=1024)),
                ("passes_completed", models.PositiveIntegerField(default=0)),
                ("pass_started_at", models.DateTimeField(blank=True, null=True)),
                ("last_run_at", models.DateTimeField(blank=True, null=True)),
                ("lease_until", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("endpoint", "bucket"), name="stray_sweep_per_bucket"
                    )
                ],
            },
        ),
    ]
