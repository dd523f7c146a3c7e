from django.db import migrations, models


class Migration(migrations.Migration):
    # Stored responses live 24 hours; the old JSON copies are simply dropped.
    dependencies = [("foundation", "0001_initial")]

    operations = [
        migrations.RemoveField(model_name="idempotencyrecord", name="response_body"),
        migrations.AddField(
            model_name="idempotencyrecord", name="response_body",
            field=models.TextField(blank=True, default=""), preserve_default=False,
        ),
        migrations.AddField(
            model_name="idempotencyrecord", name="response_content_type",
            field=models.CharField(blank=True, default="", max_length=100), preserve_default=False,
        ),
    ]
