"""Metrics as this test process counted them.

Every process of a machine counts in files of its own in one folder, and /metrics adds
them all up; the other xdist worker counts in the same folder at the same time, so a
test reads only the files of its own process."""

from __future__ import annotations

import glob
import os

from django.conf import settings
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector


def own_sample(name: str, **labels: str) -> float:
    files = glob.glob(os.path.join(settings.METRICS_DIR, f"*_{os.getpid()}.db"))
    registry = CollectorRegistry()
    for metric in MultiProcessCollector.merge(files, accumulate=True):
        registry.register(_Fixed(metric))
    return registry.get_sample_value(name, labels) or 0.0


class _Fixed:
    def __init__(self, metric):
        self.metric = metric

    def collect(self):
        return [self.metric]


def remove_own_files() -> None:
    for path in glob.glob(os.path.join(settings.METRICS_DIR, f"*_{os.getpid()}.db")):
        os.unlink(path)
