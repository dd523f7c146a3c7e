from django.db import migrations

SCHEDULES = [
    # Jobs whose worker died are handed on once their lease runs out.
    ("recover-stalled-jobs", "media_core.tasks.recover_stalled_jobs", "I", 1),
    ("purge-idempotency-records", "media_core.tasks.purge_idempotency_records", "H", None),
]


def install(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, kind, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": kind, "minutes": minutes, "repeats": -1}
        )


def uninstall(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("media_core", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(install, uninstall)]
