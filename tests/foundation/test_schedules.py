"""The housekeeping schedules exist on a migrated database, each pointing at a task."""

from __future__ import annotations

import importlib

import pytest
from django_q.models import Schedule

pytestmark = pytest.mark.django_db


def test_every_housekeeping_schedule_is_installed_and_names_a_real_task():
    schedules = {s.name: s for s in Schedule.objects.all()}
    assert {"recover-stalled-jobs", "purge-idempotency-records", "expire-uploads",
            "deliver-due-webhooks", "live-housekeeping", "delete-storage-orphans"} <= set(schedules)
    for schedule in schedules.values():
        module, _, name = schedule.func.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name)), schedule.func
        assert schedule.repeats == -1
    assert schedules["live-housekeeping"].minutes == 1
    assert schedules["delete-storage-orphans"].schedule_type == Schedule.DAILY
