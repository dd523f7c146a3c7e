"""Run inside a project tree (old or new) with Django set up: `fill` makes a row of every
model of the project's apps, `dump` prints every row of them as JSON, by table.

It knows no model by name beyond the two relations whose shape changed, so it fills any
model a release had, and dumps what the database holds whatever the models are called.
"""

from __future__ import annotations

import json
import sys

import django

django.setup()

from django.apps import apps  # noqa: E402
from django.db import connection, models  # noqa: E402
from django.utils import timezone  # noqa: E402

APPS = ("foundation", "webhooks", "media_core", "playback", "live")
# Nullable relations that a row must still have (a playback ID plays something).
REQUIRED = {"media_core.PlaybackID": {"asset"}}
# Fields a row of that model must leave empty (it has the parent above instead).
EMPTY = {"media_core.PlaybackID": {"source_id"}}


def _value(field, made):
    if isinstance(field, models.ForeignKey):
        return made.get(field.related_model._meta.label)
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.DateField):  # DateTimeField too; a date takes the day of it
        return timezone.now()
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, (models.IntegerField, models.BigIntegerField)):
        return 1
    if isinstance(field, models.FloatField):
        return 1.0
    if isinstance(field, models.JSONField):
        return {"kept": True}
    if isinstance(field, (models.CharField, models.TextField, models.SlugField)):
        return f"v-{field.name}"[: getattr(field, "max_length", None) or 100]
    return None


def fill() -> None:
    made: dict[str, models.Model] = {}
    pending = [m for m in apps.get_models() if m._meta.app_label in APPS]
    for _ in range(len(pending) + 1):
        for model in list(pending):
            required = REQUIRED.get(model._meta.label, set())
            fks = [f for f in model._meta.concrete_fields if isinstance(f, models.ForeignKey)
                   and (not f.null or f.name in required)
                   and f.related_model._meta.label not in made]
            if any(f.related_model is not model for f in fks):
                continue
            values = {}
            for field in model._meta.concrete_fields:
                if field.name in EMPTY.get(model._meta.label, ()):
                    continue
                if field.primary_key and field.has_default():
                    continue
                if field.primary_key and isinstance(field, models.AutoField):
                    continue
                if isinstance(field, models.ForeignKey) and field.null and field.name not in required:
                    values[field.name] = None
                    continue
                if field.has_default() and not isinstance(field, models.ForeignKey):
                    continue
                values[field.name] = _value(field, made)
            made[model._meta.label] = model.objects.create(**values)
            pending.remove(model)
    assert not pending, f"could not fill {pending}"
    # The relations whose shape changes: a recording's stream, a live playback ID.
    stream = made["live.LiveStream"]
    asset = made["media_core.Asset"]
    PlaybackID = apps.get_model("media_core", "PlaybackID")
    environment = made.get("media_core.Environment") or made["foundation.Environment"]
    if any(f.name == "live_stream" for f in PlaybackID._meta.fields):
        type(asset).objects.filter(pk=asset.pk).update(live_stream=stream)
        PlaybackID.objects.create(environment=environment, live_stream=stream, policy="public")
    else:
        type(asset).objects.filter(pk=asset.pk).update(live_stream_id=stream.pk)
        PlaybackID.objects.create(environment=environment, source_type="live_stream",
                                  source_id=stream.pk, policy="public")


def dump() -> None:
    tables = {}
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model._meta.app_label not in APPS:
                continue
            table = model._meta.db_table
            cursor.execute(f'SELECT * FROM "{table}"')
            columns = [c[0] for c in cursor.description]
            tables[table] = [dict(zip(columns, map(str, row), strict=True))
                             for row in cursor.fetchall()]
    json.dump(tables, sys.stdout, sort_keys=True)


def delete_streams() -> None:
    """Delete every live stream: refused if a lower layer's table still holds a foreign
    key to live's."""
    from django.db import transaction

    with transaction.atomic():
        apps.get_model("live", "LiveStream").objects.all().delete()


if __name__ == "__main__":
    {"fill": fill, "dump": dump, "delete_streams": delete_streams}[sys.argv[1]]()
