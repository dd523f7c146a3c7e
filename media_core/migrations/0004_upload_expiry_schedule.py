from django.db import migrations


def install(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="expire-uploads",
        defaults={"func": "media_core.tasks.expire_uploads", "schedule_type": "I", "minutes": 1,
                  "repeats": -1},
    )


def uninstall(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="expire-uploads").delete()


class Migration(migrations.Migration):
    dependencies = [("media_core", "0003_intake")]
    operations = [migrations.RunPython(install, uninstall)]
