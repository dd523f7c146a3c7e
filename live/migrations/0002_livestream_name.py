# Live streams get a name; existing ones are named after when they were created.
from django.db import migrations, models


def name_existing(apps, schema_editor):
    LiveStream = apps.get_model("live", "LiveStream")
    for stream in LiveStream.objects.filter(name="").only("id", "created_at").iterator():
        LiveStream.objects.filter(pk=stream.pk).update(
            name=f"Live stream of {stream.created_at:%Y-%m-%d %H:%M}")


class Migration(migrations.Migration):

    dependencies = [("live", "0001_layers")]

    operations = [
        migrations.AddField(
            model_name="livestream",
            name="name",
            field=models.CharField(
                default="", max_length=200,
                help_text='What operators call it, e.g. "Sunday service" or "Studio B".'),
            preserve_default=False,
        ),
        migrations.RunPython(name_existing, migrations.RunPython.noop),
    ]
