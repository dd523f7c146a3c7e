from django.db import migrations

from foundation.schedules import install_schedules

SCHEDULES = [
    # Runs whose reconnect window passed, recordings left waiting, old health samples.
    ("live-housekeeping", "live.tasks.housekeeping", "I", 1),
]


class Migration(migrations.Migration):
    dependencies = [
        ("live", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [install_schedules(*SCHEDULES)]
