"""hls.js in Debian's Chromium plays what the pipeline made."""

from __future__ import annotations

import pytest
import requests

from tests.browser import chromium_page
from tests.clips import make_clip
from tests.e2e.test_vod_flow import _create_upload, _put, _wait_for

pytestmark = pytest.mark.e2e

CHAPTERS_SCREENSHOT = "/tmp/embed-chapters.png"


def test_the_embed_page_plays_the_asset_in_chromium(platform, environment, make_key, tmp_path):
    _, secret = make_key(environment)
    platform.start_worker()
    upload = _create_upload(platform, secret)
    asset_id = _put(upload["url"], make_clip(tmp_path / "clip.mp4", seconds=6, size="640x360"))["asset_id"]
    playback_id = _wait_for(platform, secret, asset_id, "ready")["playback_ids"][0]["id"]

    fetched = []
    with chromium_page() as page:
        page.on("response", lambda r: fetched.append((r.url, r.status)))
        page.goto(f"{platform.base_url}/embed/{playback_id}?autoplay=1&muted=1")
        page.wait_for_function("document.getElementById('player').currentTime > 1.5", timeout=30_000)
        state = page.evaluate("""() => {
            const v = document.getElementById('player');
            return {width: v.videoWidth, height: v.videoHeight, error: v.error && v.error.code};
        }""")

    assert state["error"] is None
    assert state["height"] in (240, 360) and state["width"] in (426, 428, 640)
    segments = [url for url, status in fetched if url.endswith(".m4s") and status == 200]
    assert any("/audio/" in url for url in segments)
    # From its stream copy (the asset became ready with it) or its encoded ladder.
    assert any(f"/{name}/" in url for url in segments for name in ("source", "360p", "240p"))


def test_an_editor_s_chapters_seek_and_unpublishing_stops_the_embed(platform, environment,
                                                                    make_key, tmp_path):
    _, secret = make_key(environment)
    auth = {"Authorization": f"Bearer {secret}"}
    platform.start_worker()
    upload = _create_upload(platform, secret)
    asset_id = _put(upload["url"], make_clip(tmp_path / "clip.mp4", seconds=6,
                                             size="640x360"))["asset_id"]
    asset = _wait_for(platform, secret, asset_id, "ready")
    playback_id = asset["playback_ids"][0]["id"]
    assert asset["publication_status"] == "published"
    chapters = [{"start": 0, "title": "Opening"}, {"start": 4, "title": "The end credits"}]
    requests.patch(f"{platform.base_url}/api/v1/assets/{asset_id}", json={"chapters": chapters},
                   headers=auth, timeout=10).raise_for_status()

    with chromium_page() as page:
        page.set_viewport_size({"width": 960, "height": 540})
        page.goto(f"{platform.base_url}/embed/{playback_id}?muted=1")
        page.click("#chapters > button")
        page.screenshot(path=CHAPTERS_SCREENSHOT)
        page.click("text=The end credits")
        page.wait_for_function("document.getElementById('player').currentTime >= 4",
                               timeout=30_000)
        current = page.inner_text("#chapters li button.current")

        requests.post(f"{platform.base_url}/api/v1/assets/{asset_id}/unpublish", json={},
                      headers=auth, timeout=10).raise_for_status()
        gone = page.goto(f"{platform.base_url}/embed/{playback_id}")

        assert "The end credits" in current
        assert gone.status == 404
        assert "does not exist" in page.inner_text("body")


def test_the_embed_page_says_so_when_the_video_does_not_exist(platform):
    with chromium_page() as page:
        response = page.goto(f"{platform.base_url}/embed/pbk_00000000000000000000000000")
        assert response.status == 404
        assert "does not exist" in page.inner_text("body")


# The rendition of each variant hls.js knows: the folder of its media playlist.
LEVEL_NAMES = "window.kinoHls.levels.map(l => l.uri.split('/').slice(-2)[0])"


def test_hls_js_plays_a_minute_long_upload_from_its_copy_then_switches_to_its_ladder(
        platform, environment, make_key, tmp_path):
    """Remux-first in the browser: the embed starts while the ladder is still encoding,
    and the encoded rungs join the player once they are made."""
    _, secret = make_key(environment)
    auth = {"Authorization": f"Bearer {secret}"}
    platform.start_worker()
    clip = make_clip(tmp_path / "minute.mp4", seconds=60, size="640x360",
                     extra=["-g", "60", "-keyint_min", "60", "-sc_threshold", "0"])
    asset_id = _put(_create_upload(platform, secret)["url"], clip)["asset_id"]
    asset = _wait_for(platform, secret, asset_id, "ready", playable=True)
    assert asset["renditions_status"] == "preparing"
    assert [r["name"] for r in asset["renditions"]] == ["source"]
    playback_id = asset["playback_ids"][0]["id"]

    def renditions_status() -> str:
        return requests.get(f"{platform.base_url}/api/v1/assets/{asset_id}", headers=auth,
                            timeout=10).json()["renditions_status"]

    with chromium_page() as page:
        page.goto(f"{platform.base_url}/embed/{playback_id}?autoplay=1&muted=1")
        page.wait_for_function("document.getElementById('player').currentTime > 1",
                               timeout=30_000)
        before = page.evaluate(LEVEL_NAMES)
        # It plays before the ladder is done.
        assert renditions_status() == "preparing"
        assert before == ["source"]

        page.wait_for_function(
            "window.kinoHls.levels.length > 1 && document.getElementById('player').currentTime > 0",
            timeout=120_000, polling=500)
        assert renditions_status() == "ready"
        after = page.evaluate(LEVEL_NAMES)
        # The encoded rung, chosen, plays on from where the viewer was.
        at = page.evaluate("""() => {
            const hls = window.kinoHls;
            hls.currentLevel = hls.levels.findIndex(l => l.uri.includes('/360p/'));
            return document.getElementById('player').currentTime;
        }""")
        page.wait_for_function(
            f"window.kinoHls.levels[window.kinoHls.currentLevel].uri.includes('/360p/')"
            f" && document.getElementById('player').currentTime > {at + 2}", timeout=30_000)
        error = page.evaluate("document.getElementById('player').error")
        page.screenshot(path="/tmp/embed-after-ladder.png")

    assert sorted(after) == ["240p", "360p", "source"]
    assert error is None
