"""A viewer watches a live stream on the embed page: hls.js in Debian's Chromium."""

from __future__ import annotations

import pytest
import requests

from tests.browser import chromium_page

from .live import HAVE_RTMP, publish, start_ingest, stop

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.live,
    pytest.mark.skipif(not HAVE_RTMP, reason="needs nginx, libnginx-mod-rtmp and ffmpeg"),
]


OFFLINE_SCREENSHOT = "/tmp/live-embed-offline.png"


def test_the_embed_page_waits_offline_then_plays_near_the_live_edge_without_a_reload(
        platform, environment, make_key):
    _, secret = make_key(environment)
    auth = {"Authorization": f"Bearer {secret}"}
    start_ingest(platform)
    stream = requests.post(f"{platform.base_url}/api/v1/live-streams", headers=auth, timeout=10,
                           json={"playback_policy": ["public"], "latency_mode": "low"}).json()
    playback_id = stream["playback_ids"][0]["id"]
    with chromium_page() as page:
        # Before the stream is on air the viewer is told so, and the page keeps asking.
        response = page.goto(f"{platform.base_url}/embed/{playback_id}?autoplay=1&muted=1")
        assert response.status == 200
        page.wait_for_selector(".live-state:not([hidden])", timeout=15_000)
        assert page.inner_text(".live-state strong") == "The stream is offline"
        assert page.evaluate("document.getElementById('player').controls") is False
        page.set_viewport_size({"width": 640, "height": 360})
        page.screenshot(path=OFFLINE_SCREENSHOT)
        encoder = publish(f"{stream['rtmp_url']}/{stream['stream_key']}", seconds=60,
                          size="640x360")
        try:
            # No reload: the page sees the stream come on air and plays it.
            page.wait_for_function("document.getElementById('player').currentTime > 3",
                                   timeout=40_000)
            state = page.evaluate("""() => {
                const v = document.getElementById('player');
                const end = v.buffered.length ? v.buffered.end(v.buffered.length - 1) : 0;
                return {width: v.videoWidth, height: v.videoHeight, paused: v.paused,
                        behind: end - v.currentTime, error: v.error && v.error.code,
                        waiting: !document.querySelector('.live-state').hidden};
            }""")
        finally:
            stop(encoder)
        assert state["error"] is None and not state["paused"] and not state["waiting"]
        assert (state["width"], state["height"]) == (640, 360)
        # Playing within a couple of segments of what has arrived: the live edge, not the start.
        assert state["behind"] < 3.0, state
        # The run ends: its playlist ends, and the page goes back to waiting for the next.
        requests.post(f"{platform.base_url}/api/v1/live-streams/{stream['id']}/complete",
                      headers=auth, timeout=10).raise_for_status()
        page.wait_for_selector(".live-state:not([hidden])", timeout=30_000)
        assert page.inner_text(".live-state strong") == "The stream is offline"
