from django.db import migrations

from foundation.schedules import install_schedules

SCHEDULES = [
    # Deliveries due for another attempt, and those whose worker was lost mid-send.
    ("deliver-due-webhooks", "webhooks.tasks.deliver_due", "I", 1),
]


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_endpoints_deliveries"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [install_schedules(*SCHEDULES)]
