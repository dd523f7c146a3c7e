import django.core.validators
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    # Permissions and admin log entries point at content types: keep them by moving the
    # two models' content types to this app instead of letting new ones be created.
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("environment", "apikey"):
        if not ContentType.objects.filter(app_label="foundation", model=model).exists():
            ContentType.objects.filter(app_label="media_core", model=model).update(
                app_label="foundation")


class Migration(migrations.Migration):
    # Environments and API keys were media_core's; their tables take this app's names.
    dependencies = [
        ("foundation", "0002_replays_without_secrets"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="environment",
            name="max_duration_seconds",
            field=models.PositiveIntegerField(
                blank=True, null=True, validators=[django.core.validators.MinValueValidator(1)],
                verbose_name="max duration (seconds)",
                help_text="The longest video an asset of this environment may be; longer ones "
                          "end errored (duration_too_long). An asset's own max_duration_seconds "
                          "may only be lower. Blank: ASSET_MAX_DURATION_SECONDS (12 hours unless "
                          "set)."),
        ),
        migrations.AlterModelTable(name="environment", table=None),
        migrations.AlterModelTable(name="apikey", table=None),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
