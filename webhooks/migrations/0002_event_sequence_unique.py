from django.db import migrations, models


def renumber_repeats(apps, schema_editor):
    """Events emitted at the same instant for one object could share a sequence number;
    renumber each such object's events 1, 2, 3, ... in the order they were written."""
    Event = apps.get_model("webhooks", "Event")
    repeated = (Event.objects.values("object_id", "sequence")
                .annotate(n=models.Count("id")).filter(n__gt=1)
                .values_list("object_id", flat=True).distinct())
    for object_id in set(repeated):
        for number, event in enumerate(
                Event.objects.filter(object_id=object_id).order_by("sequence", "id"), start=1):
            if event.sequence != number:
                Event.objects.filter(pk=event.pk).update(sequence=number)


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_layers")]

    operations = [
        migrations.RunPython(renumber_repeats, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(fields=("object_id", "sequence"),
                                               name="event_sequence_unique_per_object"),
        ),
    ]
