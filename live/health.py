"""The readiness check of live ingest (GET /readyz, `ingest`).

Live counts as configured once an ingest node has reported. Then every node that has
not stopped cleanly must still be reporting: one that went silent (crashed, cut off)
fails the check, named with when it last reported. A node silent for more than a day is
taken as retired and left to the system status page, so that a machine taken away
without a final report does not keep the platform unready for good.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from .selectors import ingest_nodes

RETIRED_AFTER = timedelta(days=1)


def ingest_check() -> None:
    now = timezone.now()
    silent = [node for node in ingest_nodes()
              if node.state == "silent" and node.last_report_at > now - RETIRED_AFTER]
    if silent:
        raise RuntimeError("; ".join(
            f"{node.name} silent for {int((now - node.last_report_at).total_seconds())} s"
            for node in silent))
