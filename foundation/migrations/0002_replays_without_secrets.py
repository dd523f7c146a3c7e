from django.db import migrations

# The response fields that carried a one-time secret before replays nulled them.
SECRET_FIELDS = ("private_key", "stream_key", "srt_url", "secret")


def null_stored_secrets(apps, schema_editor):
    from foundation.api.idempotency import without_secrets

    records = apps.get_model("foundation", "IdempotencyRecord").objects
    for record in records.exclude(response_body="").iterator():
        cleaned = without_secrets(record.response_body, SECRET_FIELDS)
        if cleaned != record.response_body:
            records.filter(pk=record.pk).update(response_body=cleaned)


class Migration(migrations.Migration):
    # Responses stored before replays left one-time secrets out still hold them.
    dependencies = [("foundation", "0001_layers")]

    operations = [migrations.RunPython(null_stored_secrets, migrations.RunPython.noop)]
