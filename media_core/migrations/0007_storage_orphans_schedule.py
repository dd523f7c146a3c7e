from django.db import migrations

from foundation.schedules import install_schedules


class Migration(migrations.Migration):

    dependencies = [
        ("media_core", "0006_downloads_and_clips"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        # Objects no row owns, older than a day, are deleted (media_core/storage_audit.py).
        install_schedules(("delete-storage-orphans", "media_core.tasks.delete_storage_orphans",
                           "D", None)),
    ]
