"""The ingest's relay supervisor with a failing relay: errored with FFmpeg's words (the
target's key blanked), restarted after a growing wait, stopped when no longer wanted."""

from __future__ import annotations

import time

import pytest

from live.ingest.runner import Ingest


@pytest.fixture
def failing_ffmpeg(tmp_path, settings):
    script = tmp_path / "ffmpeg"
    script.write_text('#!/bin/sh\nfor last; do :; done\necho "$last: Input/output error" >&2\nexit 1\n')
    script.chmod(0o755)
    settings.FFMPEG_BIN = str(script)
    settings.SIMULCAST_ALLOW_PRIVATE_TARGETS = True


def _settle(relay) -> None:
    relay.child.proc.wait(timeout=10)
    time.sleep(0.2)  # its stderr is read by a thread


def test_a_failing_relay_is_errored_redacted_restarted_with_backoff_and_stopped(failing_ffmpeg):
    ingest = Ingest(platform_url="http://127.0.0.1:9", node="n1", rtmp_port=1935, http_port=8080)
    spec = {"target": "smt_1", "session": "lss_1", "stream": "lvs_1", "app": "live",
            "server": "rtmp://127.0.0.1:1935/sink", "key": "sekrit-key-123"}

    ingest._reconcile_relays([spec])
    relay = ingest.relays[("smt_1", "lss_1")]
    assert relay.state == "starting" and relay.child is not None
    _settle(relay)

    ingest._reconcile_relays([spec])
    assert relay.state == "errored" and relay.child is None  # waiting 1 s before a restart
    assert "Input/output error" in relay.error
    assert "sekrit-key-123" not in relay.error and "rtmp://127.0.0.1:1935/sink/…" in relay.error
    ingest._reconcile_relays([spec])
    assert relay.child is None and relay.restarts == 0

    time.sleep(1.05)
    ingest._reconcile_relays([spec])
    assert relay.child is not None and relay.restarts == 1
    _settle(relay)
    ingest._reconcile_relays([spec])
    assert relay.backoff.not_before - time.monotonic() > 1.5  # the second wait is 2 s

    ingest._reconcile_relays([])
    assert relay.state == "stopped" and relay.child is None
