"""The ingest's stop: every FFmpeg child is asked to stop at once, so a node with many
relays still stops within one grace period, not one per relay."""

from __future__ import annotations

import time

import pytest

from live.ingest.children import STOP_GRACE_SECONDS
from live.ingest.runner import Ingest


@pytest.fixture
def stubborn_ffmpeg(tmp_path, settings):
    """An FFmpeg blocked on a network read: it ignores SIGTERM."""
    script = tmp_path / "ffmpeg"
    script.write_text("#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 0.1; done\n")
    script.chmod(0o755)
    settings.FFMPEG_BIN = str(script)
    settings.SIMULCAST_ALLOW_PRIVATE_TARGETS = True


def test_the_ingest_stops_four_stubborn_relays_within_one_grace_period(stubborn_ffmpeg):
    ingest = Ingest(platform_url="http://127.0.0.1:9", node="n1", rtmp_port=1935, http_port=8080)
    ingest._reconcile_relays([
        {"target": f"smt_{n}", "session": "lss_1", "stream": "lvs_1", "app": "live",
         "server": "rtmp://127.0.0.1:1935/sink", "key": f"key-{n}"} for n in range(4)])
    children = [relay.child for relay in ingest.relays.values()]
    assert len(children) == 4 and all(child.alive() for child in children)

    started = time.monotonic()
    ingest.shutdown()
    took = time.monotonic() - started

    assert not any(child.alive() for child in children)
    assert took < STOP_GRACE_SECONDS + 1.5, f"took {took:.1f} s"
