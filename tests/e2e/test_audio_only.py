"""Sound alone through the running platform: uploaded over HTTP, played by hls.js in
Debian's Chromium, with the waveform in view while it plays; the asset page previews it."""

from __future__ import annotations

import pytest

from foundation.admin import change_url
from media_core.models import Asset
from tests.browser import chromium_page
from tests.clips import make_audio
from tests.e2e.test_admin_asset_page import PASSWORD, _sign_in
from tests.e2e.test_vod_flow import _create_upload, _put, _wait_for

pytestmark = pytest.mark.e2e

EMBED_SCREENSHOT = "/tmp/embed-audio.png"
ASSET_PAGE_SCREENSHOT = "/tmp/admin-asset-audio.png"
# The waveform poster's background (media_core/processing/encode.py), as a screenshot
# shows it: a player showing it is not a black box.
BACKGROUND = (0x0F, 0x17, 0x2A)


def _pixels(png: bytes, points: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    import subprocess

    found = []
    for x, y in points:
        raw = subprocess.run(["ffmpeg", "-v", "error", "-f", "png_pipe", "-i", "-", "-vf",
                              f"crop=1:1:{x}:{y}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                             input=png, check=True, capture_output=True, timeout=60).stdout
        found.append((raw[0], raw[1], raw[2]))
    return found


def _close(colour: tuple[int, int, int], to: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(colour, to, strict=True))


def test_m4a_and_mp3_play_in_the_embed_with_their_waveform_in_view(
        platform, environment, make_key, django_user_model, tmp_path):
    _, secret = make_key(environment)
    django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)
    platform.start_worker()
    played = {}
    for name, codec in (("tone.m4a", "aac"), ("tone.mp3", "libmp3lame")):
        upload = _create_upload(platform, secret)
        asset_id = _put(upload["url"], make_audio(tmp_path / name, seconds=6,
                                                  codec=codec))["asset_id"]
        asset = _wait_for(platform, secret, asset_id, "ready")
        assert [t["type"] for t in asset["tracks"]] == ["audio"]
        assert (asset["renditions"], asset["aspect_ratio"], asset["max_resolution"]) == (
            [], None, None)
        played[name] = asset["playback_ids"][0]["id"]
    asset_page = change_url(Asset.objects.get(playback_ids=played["tone.mp3"]))

    states, shots = {}, {}
    with chromium_page() as page:
        page.set_viewport_size({"width": 640, "height": 360})
        for name, playback_id in played.items():
            page.goto(f"{platform.base_url}/embed/{playback_id}?autoplay=1&muted=1")
            page.wait_for_function("document.getElementById('player').currentTime > 1",
                                   timeout=30_000)
            states[name] = page.evaluate("""() => {
                const v = document.getElementById('player');
                return {paused: v.paused, error: v.error && v.error.code,
                        width: v.videoWidth, height: v.videoHeight};
            }""")
            shots[name] = page.screenshot(path=EMBED_SCREENSHOT if name == "tone.m4a" else None)
        page.set_viewport_size({"width": 1280, "height": 900})
        _sign_in(page, platform, asset_page)
        page.wait_for_selector("#thumbnail-strip:has-text('not available')")
        strip = page.inner_text("#thumbnail-strip")
        page.evaluate("document.getElementById('preview-player').play()")
        page.wait_for_function("document.getElementById('preview-player').currentTime > 1",
                               timeout=30_000)
        page.screenshot(path=ASSET_PAGE_SCREENSHOT, full_page=True)

    for name, state in states.items():
        assert state == {"paused": False, "error": None, "width": 0, "height": 0}, name
        # While it plays, the dark slate of the waveform picture fills the player.
        corners = _pixels(shots[name], [(40, 40), (600, 40), (320, 80)])
        assert all(_close(c, BACKGROUND) for c in corners), (name, corners)
    assert strip == "Thumbnails are not available for this asset."
