"""An editor (in Editors only) in Debian's Chromium does the media work of an asset on
its page: adds an SRT caption track, switches MP4 downloads on and fetches a byte range
of highest.mp4, and cuts a clip with the preview's playhead; the embed then lists the
captions. Then uploads a podcast episode (audio only, M4A) from the upload page and
plays it on its page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group

from foundation import roles
from foundation.admin import change_url
from media_core.models import Asset
from media_core.processing.pipeline import run_job
from tests.browser import chromium_page
from tests.clips import make_audio, make_clip
from tests.factories import asset_from_file

pytestmark = pytest.mark.e2e

PASSWORD = "ed1tor-pw"
SCREENSHOT = "/tmp/admin-asset-media.png"
AUDIO_SCREENSHOT = "/tmp/admin-asset-audio-upload.png"
SRT = b"1\n00:00:01,000 --> 00:00:03,000\nThe harbour wakes up.\n"


def test_an_editor_adds_captions_downloads_and_a_clip(platform, environment, django_user_model,
                                                      tmp_path):
    roles.sync_roles()
    editor = django_user_model.objects.create_user("editor", password=PASSWORD, is_staff=True)
    editor.groups.add(Group.objects.get(name=roles.EDITORS))
    source = asset_from_file(environment, make_clip(tmp_path / "harbour.mp4", seconds=10,
                                                    size="640x360"),
                             title="Harbour at dawn", playback_policy=["public"])
    run_job(source.jobs.get().id)
    source.refresh_from_db()
    assert source.status == "ready"
    playback_id = source.playback_ids.get().id
    page_url = f"{platform.base_url}{change_url(source)}"
    (tmp_path / "en.srt").write_bytes(SRT)
    episode = make_audio(tmp_path / "episode.m4a", seconds=6)
    platform.start_worker()  # makes the downloads and the clip

    with chromium_page() as page:
        page.set_viewport_size({"width": 1400, "height": 900})
        page.goto(f"{platform.base_url}/admin/login/?next={change_url(source)}")
        page.fill("#id_username", "editor")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(page_url)

        # Captions: the add page, then back on the asset page with the track listed.
        page.click("text=Add a text track")
        page.set_input_files("input[name=file]", str(tmp_path / "en.srt"))
        page.fill("input[name=language_code]", "en")
        page.fill("input[name=name]", "English")
        page.click("input[type=submit]")
        page.wait_for_url(page_url)
        assert "English" in page.inner_text("body")

        # Downloads: switched on with the form, made by the worker.
        page.select_option("#id_mp4_support", "standard")
        page.click("input[name=_continue]")
        page.wait_for_url(page_url)
        for _ in range(60):
            if page.locator(".field-downloads a[download]").count() == 2:
                break
            page.wait_for_timeout(1000)
            page.reload()
        link = page.get_attribute(".field-downloads a[download]:has-text('highest.mp4')", "href")
        ranged = page.request.get(f"{platform.base_url}{link}", headers={"Range": "bytes=0-99"})
        ranged = (ranged.status, len(ranged.body()))

        # A clip: start and end from the playhead, then cut.
        page.evaluate("document.getElementById('preview-player').muted = true")
        page.wait_for_function("document.getElementById('preview-player').readyState >= 1",
                               timeout=30_000)
        page.evaluate("document.getElementById('preview-player').currentTime = 2")
        page.wait_for_function("!document.getElementById('preview-player').seeking")
        page.click("button[data-playhead=clip-start]")
        page.evaluate("document.getElementById('preview-player').currentTime = 6")
        page.wait_for_function("!document.getElementById('preview-player').seeking")
        page.click("button[data-playhead=clip-end]")
        start, end = page.input_value("#clip-start"), page.input_value("#clip-end")
        page.fill("#clip-title", "Harbour: the boats leave")
        page.screenshot(path=SCREENSHOT, full_page=True)
        page.click("#clip-submit")
        page.wait_for_url(re.compile(r"/admin/media_core/asset/ast_[^/]+/change/$"))
        clip_url = page.url
        assert "Cutting 2–6 s into a new asset" in page.inner_text(".messagelist")
        page.wait_for_function(
            "document.querySelector('.field-state .readonly')?.textContent.trim() === 'ready'",
            timeout=120_000)

        # The embed lists the captions track, and shows its cue at its time.
        viewer = page.context.new_page()
        viewer.goto(f"{platform.base_url}/embed/{playback_id}?muted=1")
        viewer.wait_for_function("document.getElementById('player').textTracks.length > 0",
                                 timeout=30_000)
        labels = viewer.evaluate(
            "[...document.getElementById('player').textTracks].map(t => t.label)")

        # Audio only: uploaded like a video, played on its page with its waveform.
        page.goto(f"{platform.base_url}/admin/media_core/asset/upload/")
        page.fill("#id_title", "Episode 12")
        page.set_input_files("#id_file", str(episode))
        page.click("#upload-submit")
        page.wait_for_url(re.compile(r"/admin/media_core/asset/ast_[^/]+/change/$"),
                          timeout=60_000)
        page.wait_for_function(
            "document.querySelector('.field-state .readonly')?.textContent.trim() === 'ready'",
            timeout=120_000)
        page.evaluate("document.getElementById('preview-player').muted = true")
        page.evaluate("document.getElementById('preview-player').play()")
        page.wait_for_function("document.getElementById('preview-player').currentTime > 1",
                               timeout=30_000)
        tracks_shown = page.inner_text(".field-track_list")
        page.screenshot(path=AUDIO_SCREENSHOT)

    assert "English" in labels
    assert ranged == (206, 100)
    assert (start, end) == ("2.000", "6.000")
    clip = Asset.objects.get(source_asset_id=source.id)
    assert clip_url.endswith(change_url(clip))
    assert clip.title == "Harbour: the boats leave" and clip.status == "ready"
    assert abs(clip.duration - 4.0) <= 1 / 30 + 0.001
    assert source.text_tracks.get().name == "English"
    episode_asset = Asset.objects.get(title="Episode 12")
    assert episode_asset.status == "ready" and [t["type"] for t in episode_asset.tracks] == ["audio"]
    assert "audio" in tracks_shown and "video" not in tracks_shown
