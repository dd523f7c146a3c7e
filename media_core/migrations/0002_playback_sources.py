from django.db import migrations, models


def drop_relations_to_live(apps, schema_editor):
    """Older installs made asset.live_stream_id and playbackid.live_stream_id foreign keys
    to live's table; they are plain ids now (live is a layer above). Drop those keys."""
    connection = schema_editor.connection
    for model_name in ("Asset", "PlaybackID"):
        model = apps.get_model("media_core", model_name)
        table = model._meta.db_table
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, table)
        keys = [name for name, c in constraints.items()
                if c["foreign_key"] and c["columns"] == ["live_stream_id"]]
        if not keys:
            continue  # a new install: never had them
        if connection.vendor == "sqlite":
            # SQLite cannot drop a table's REFERENCES clause: rebuild the table from the
            # current state, which has none.
            schema_editor._remake_table(model)
        else:
            for name in keys:
                schema_editor.execute(schema_editor._delete_fk_sql(model, name))


def fill_sources(apps, schema_editor):
    PlaybackID = apps.get_model("media_core", "PlaybackID")
    PlaybackID.objects.filter(source_id__isnull=False).update(source_type="live_stream")


class Migration(migrations.Migration):
    dependencies = [("media_core", "0001_layers")]

    operations = [
        migrations.RunPython(drop_relations_to_live, migrations.RunPython.noop),
        migrations.RenameField(model_name="playbackid", old_name="live_stream_id",
                               new_name="source_id"),
        migrations.AddField(model_name="playbackid", name="source_type",
                            field=models.CharField(blank=True, default="", max_length=32)),
        migrations.RunPython(fill_sources, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="playbackid",
            constraint=models.CheckConstraint(
                condition=(models.Q(asset__isnull=False, source_type="", source_id__isnull=True)
                           | models.Q(asset__isnull=True, source_id__isnull=False)
                           & ~models.Q(source_type="")),
                name="playback_id_one_parent"),
        ),
    ]
