from django.db import migrations

from foundation.schedules import install_schedules

SCHEDULES = [
    # Jobs whose worker died are handed on once their lease runs out.
    ("recover-stalled-jobs", "media_core.tasks.recover_stalled_jobs", "I", 1),
    ("purge-idempotency-records", "media_core.tasks.purge_idempotency_records", "H", None),
]


class Migration(migrations.Migration):
    dependencies = [
        ("media_core", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [install_schedules(*SCHEDULES)]
