"""Installing django-q2 schedules from migrations, so a fresh database has them."""

from __future__ import annotations

from django.db import migrations

# (name, task path, schedule type ("I" every `minutes`, "H" hourly, ...), minutes or None)
ScheduleSpec = tuple[str, str, str, int | None]


def install_schedules(*schedules: ScheduleSpec) -> migrations.RunPython:
    """A migration operation that creates or updates these schedules (and removes them
    when migrated backwards)."""

    def install(apps, schema_editor):
        Schedule = apps.get_model("django_q", "Schedule")
        for name, func, kind, minutes in schedules:
            Schedule.objects.update_or_create(
                name=name,
                defaults={"func": func, "schedule_type": kind, "minutes": minutes, "repeats": -1})

    def uninstall(apps, schema_editor):
        Schedule = apps.get_model("django_q", "Schedule")
        Schedule.objects.filter(name__in=[name for name, *_ in schedules]).delete()

    return migrations.RunPython(install, uninstall)
