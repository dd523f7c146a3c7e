"""Captions in Chromium: tracks added through the API are offered by the embed player, and
the chosen one shows its cues at their times."""

from __future__ import annotations

import re

import pytest
import requests

from media_core.models import TextTrack
from tests.browser import chromium_page
from tests.clips import make_clip
from tests.e2e.test_vod_flow import _create_upload, _put, _wait_for

pytestmark = pytest.mark.e2e

SCREENSHOT = "/tmp/embed-captions.png"
ENGLISH = "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\nThe door opens slowly.\n"
GERMAN = "1\n00:00:01,000 --> 00:00:03,000\nDie Tür öffnet sich.\n\n2\n" \
         "00:00:03,000 --> 00:00:05,500\nLangsam.\n"

SHOWING = """() => {
    const video = document.getElementById('player');
    const track = Array.from(video.textTracks).find(t => t.mode === 'showing');
    const cue = track && track.activeCues && track.activeCues[0];
    return cue ? {label: track.label, text: cue.text, start: cue.startTime, end: cue.endTime,
                  now: video.currentTime} : null;
}"""


def add_track(platform, secret: str, asset_id: str, filename: str, text: str, **fields) -> dict:
    response = requests.post(f"{platform.base_url}/api/v1/assets/{asset_id}/tracks",
                             headers={"Authorization": f"Bearer {secret}"}, timeout=10,
                             files={"file": (filename, text.encode())}, data=fields)
    assert response.status_code == 201, response.text
    return response.json()


def picture_start(platform, playback_id: str) -> float:
    """Where cue time 0 falls on the video's timeline, as the served WebVTT says (seconds)."""
    master = requests.get(f"{platform.base_url}/v/{playback_id}.m3u8", timeout=10).text
    playlist_uri = re.search(r'TYPE=SUBTITLES.*URI="([^"]+)"', master).group(1)
    vtt = requests.get(f"{platform.base_url}{playlist_uri.replace('.m3u8', '.vtt')}", timeout=10)
    return int(re.search(r"X-TIMESTAMP-MAP=MPEGTS:(\d+),", vtt.text).group(1)) / 90_000


def seek_and_read(page, seconds: float) -> dict:
    page.evaluate(f"document.getElementById('player').currentTime = {seconds}")
    page.wait_for_function(f"""() => {{
        const video = document.getElementById('player');
        return !video.seeking && video.readyState >= 2 && Math.abs(video.currentTime - {seconds}) < 0.1
            && ({SHOWING})() !== null;
    }}""", timeout=30_000)
    return page.evaluate(SHOWING)


def test_the_embed_player_lists_both_tracks_and_shows_the_chosen_one(platform, environment,
                                                                      make_key, tmp_path):
    _, secret = make_key(environment)
    platform.start_worker()
    upload = _create_upload(platform, secret)
    asset_id = _put(upload["url"], make_clip(tmp_path / "clip.mp4", seconds=6,
                                             size="640x360"))["asset_id"]
    playback_id = _wait_for(platform, secret, asset_id, "ready")["playback_ids"][0]["id"]
    english = add_track(platform, secret, asset_id, "english.vtt", ENGLISH, language_code="en",
                        name="English", closed_captions="true")
    german = add_track(platform, secret, asset_id, "deutsch.srt", GERMAN, language_code="de",
                       name="Deutsch")
    offset = picture_start(platform, playback_id)

    with chromium_page() as page:
        page.set_viewport_size({"width": 960, "height": 540})
        page.goto(f"{platform.base_url}/embed/{playback_id}?muted=1")
        page.wait_for_selector("#captions:not([hidden]) > button", timeout=30_000)
        listed = page.evaluate("""() => Array.from(document.getElementById('player').textTracks)
            .map(t => ({label: t.label, language: t.language, mode: t.mode}))""")
        page.click("#captions > button")
        offered = page.locator("#captions li button").all_inner_texts()

        page.click("#captions li button:has-text('English')")
        shown_english = seek_and_read(page, 2.0)
        page.click("#captions > button")  # open again: the menu marks the choice
        checked = page.inner_text("#captions li button[aria-checked='true']")
        # The frame is there (no loading spinner over it) before the picture is taken.
        page.wait_for_function("document.getElementById('player').readyState >= 4",
                               timeout=10_000)
        page.screenshot(path=SCREENSHOT)

        page.click("#captions li button:has-text('Deutsch')")
        shown_german = seek_and_read(page, 4.0)
        page.click("#captions > button")
        page.click("#captions li button:has-text('Off')")
        page.wait_for_function("""() => !Array.from(document.getElementById('player').textTracks)
            .some(t => t.mode === 'showing')""", timeout=10_000)

    assert [(t["label"], t["language"]) for t in listed] == [("English", "en"), ("Deutsch", "de")]
    assert all(t["mode"] != "showing" for t in listed)  # none until the viewer chooses
    assert offered == ["Off", "English (CC)", "Deutsch"]
    assert checked == "English (CC)"
    assert (shown_english["label"], shown_english["text"]) == ("English", "The door opens slowly.")
    # The file's times, from where the picture starts: the encoder's B-frames present the
    # first frame a little after 0 (two frames at 30 fps), and the cues follow it.
    assert 0 <= offset < 0.2
    assert shown_english["start"] == pytest.approx(1.0 + offset, abs=0.002)
    assert shown_english["end"] == pytest.approx(5.0 + offset, abs=0.002)
    assert (shown_german["label"], shown_german["text"]) == ("Deutsch", "Langsam.")
    assert shown_german["start"] == pytest.approx(3.0 + offset, abs=0.002)
    assert set(TextTrack.objects.values_list("id", flat=True)) == {english["id"], german["id"]}
