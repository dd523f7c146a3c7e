"""Worker entry points (django-q2); the work is in services and recordings."""

from __future__ import annotations

from foundation.context import request_id_scope
from foundation.tasks import enqueue

from . import recordings, services


def finalise_recording(asset_id: str, request_id: str | None = None) -> str:
    with request_id_scope(request_id):
        return recordings.finalise_recording(asset_id)


def housekeeping() -> dict:
    """Every minute: end the sessions of ingest nodes gone silent, end runs whose
    reconnect window passed (the ingest's reports do both every few seconds while an
    ingest runs), pick up recordings left waiting, and prune old health samples."""
    lost = services.silent_nodes_sweep()  # their streams disconnect now, and end below in time
    ended = services.live_streams_sweep()
    pending = recordings.pending_recordings()
    for asset_id in pending:
        enqueue("live.tasks.finalise_recording", asset_id)
    return {"lost": lost, "ended": ended, "recordings": pending,
            "pruned": services.health_prune()}
