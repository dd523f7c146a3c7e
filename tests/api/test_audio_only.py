"""Sound alone through the API: the asset document, its one download, and clips of it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from media_core.models import Asset
from media_core.processing.segments import join, read_playlist
from media_core.services.downloads import downloads_offered
from tests.api.conftest import assert_problem
from tests.clips import make_audio, probe
from tests.factories import asset_from_file

pytestmark = pytest.mark.django_db(transaction=True)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _peak_db(path: Path, start: float, length: float = 0.15) -> float:
    """The loudest sample of [start, start + length) in dBFS, as volumedetect reads it."""
    out = subprocess.run(["ffmpeg", "-v", "info", "-ss", f"{start}", "-t", f"{length}",
                          "-i", str(path), "-af", "volumedetect", "-f", "null", "-"],
                         capture_output=True, text=True, timeout=60).stderr
    return float(re.search(r"max_volume: (-?[\d.]+) dB", out).group(1))


def _audio_of(asset: Asset, target: Path) -> Path:
    """The asset's audio rendition as one file, as a player hears it."""
    init, segments = read_playlist(asset.media_prefix, "audio")
    join(init, segments, target)
    return target


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    return make_audio(tmp_path_factory.mktemp("audio") / "song.mp3", seconds=8,
                      codec="libmp3lame", cover=True)


def test_the_asset_document_shows_sound_alone(owner, environment, sync_tasks, song):
    asset = asset_from_file(environment, song, title="A song", playback_policy=["public"])

    shown = owner.get(f"/api/v1/assets/{asset.id}").json()

    assert shown["status"] == "ready"
    assert shown["duration"] == pytest.approx(8.0, abs=0.1)
    assert (shown["aspect_ratio"], shown["max_resolution"], shown["renditions"]) == (
        None, None, [])
    [track] = shown["tracks"]
    assert (track["type"], track["codec"], track["channels"]) == ("audio", "mp3", 1)
    assert track["duration"] == pytest.approx(8.0, abs=0.1)
    listed = owner.get("/api/v1/assets").json()["data"]
    assert [(a["id"], a["renditions"], [t["type"] for t in a["tracks"]]) for a in listed] == [
        (asset.id, [], ["audio"])]


def test_mp4_support_offers_audio_m4a_alone(owner, anonymous, environment, sync_tasks, song,
                                            tmp_path):
    asset = asset_from_file(environment, song, title="A song", playback_policy=["public"],
                            mp4_support="standard")
    playback_id = asset.playback_ids.get().id
    assert downloads_offered(asset) == ["audio.m4a"]

    shown = owner.get(f"/api/v1/assets/{asset.id}").json()
    assert [(d["name"], d["status"]) for d in shown["static_renditions"]] == [("audio.m4a", "ready")]
    response = anonymous.get(f"/v/{playback_id}/audio.m4a")
    assert response.status_code == 200 and response["Content-Type"] == "audio/mp4"
    saved = tmp_path / "audio.m4a"
    saved.write_bytes(body(response))
    info = probe(str(saved))
    assert [(s["codec_type"], s["codec_name"]) for s in info["streams"]] == [("audio", "aac")]
    assert float(info["format"]["duration"]) == pytest.approx(asset.duration, abs=0.1)
    assert_problem(anonymous.get(f"/v/{playback_id}/highest.mp4"), 404, "download_not_offered")


def test_a_clip_of_sound_alone_is_sound_alone_of_the_range(owner, environment, sync_tasks, song,
                                                           tmp_path):
    source = asset_from_file(environment, song, title="A song", playback_policy=["public"])

    response = owner.post(f"/api/v1/assets/{source.id}/clips",
                          {"start": 2.5, "end": 6.0, "title": "The chorus",
                           "playback_policy": ["public"]}, format="json")

    assert response.status_code == 201, response.content
    clip = Asset.objects.get(pk=response.json()["id"])
    assert clip.status == "ready", clip.error_messages
    assert clip.duration == pytest.approx(3.5, abs=0.03)
    shown = owner.get(f"/api/v1/assets/{clip.id}").json()
    assert [t["type"] for t in shown["tracks"]] == ["audio"] and shown["renditions"] == []
    assert [r.name for r in clip.renditions.all()] == ["audio"]
    heard, whole = _audio_of(clip, tmp_path / "clip.mp4"), _audio_of(source, tmp_path / "song.mp4")
    # The tone swells and fades every 1.6 s: the clip sounds as the song does from 2.5 s.
    for at in (0.3, 0.9, 1.6, 2.4):
        assert _peak_db(heard, at) == pytest.approx(_peak_db(whole, 2.5 + at), abs=1.0), at
