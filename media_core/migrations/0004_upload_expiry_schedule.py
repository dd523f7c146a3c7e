from django.db import migrations

from foundation.schedules import install_schedules

SCHEDULES = [("expire-uploads", "media_core.tasks.expire_uploads", "I", 1)]


class Migration(migrations.Migration):
    dependencies = [("media_core", "0003_intake")]
    operations = [install_schedules(*SCHEDULES)]
