# Ingest nodes get a row, kept current by their reports (live.services.reports).
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("live", "0002_livestream_name")]

    operations = [
        migrations.CreateModel(
            name="IngestNode",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("name", models.CharField(max_length=128, unique=True)),
                ("first_seen_at", models.DateTimeField()),
                ("last_report_at", models.DateTimeField()),
                ("stopped_at", models.DateTimeField(
                    blank=True, null=True,
                    help_text="When its final report came: it stopped cleanly.")),
                ("streams", models.PositiveIntegerField(
                    default=0, help_text="Streams publishing to it in its last report.")),
            ],
            options={"verbose_name": "ingest node", "ordering": ["name"]},
        ),
    ]
