"""Sound alone is an asset too: one audio rendition, and a picture of its waveform as the
poster; a file with neither sound nor picture is still refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from media_core.models import Asset, Rendition
from media_core.processing import encode
from media_core.processing.probe import AudioTrack, Inspection
from media_core.storage import list_tree, media_storage
from tests.clips import make_audio, probe
from tests.factories import asset_from_file

pytestmark = [pytest.mark.django_db, pytest.mark.storage]

AUDIO_TRACK_KEYS = {"type", "channels", "codec", "sample_rate", "duration"}


def _pixel(jpeg: Path, x: int, y: int) -> tuple[int, int, int]:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(jpeg), "-vf", f"crop=1:1:{x}:{y}",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True, timeout=60).stdout
    return raw[0], raw[1], raw[2]


@pytest.mark.parametrize(("name", "codec", "declared_codec"), [
    ("tone.m4a", "aac", "aac"),
    ("tone.mp3", "libmp3lame", "mp3"),
])
def test_a_file_of_sound_alone_becomes_a_ready_asset_with_one_audio_rendition(
        environment, sync_tasks, tmp_path, name, codec, declared_codec):
    asset = asset_from_file(environment, make_audio(tmp_path / name, seconds=3, codec=codec))

    assert asset.status == Asset.Status.READY, asset.error_messages
    assert asset.duration == pytest.approx(3.0, abs=0.1)
    assert (asset.aspect_ratio, asset.max_resolution) == ("", "")
    [track] = asset.tracks
    assert set(track) == AUDIO_TRACK_KEYS
    assert (track["type"], track["codec"], track["channels"]) == ("audio", declared_codec, 1)
    assert track["duration"] == pytest.approx(3.0, abs=0.1)
    [rendition] = asset.renditions.all()
    assert (rendition.name, rendition.kind, rendition.codecs) == ("audio", Rendition.Kind.AUDIO,
                                                                  "mp4a.40.2")
    files = list_tree(asset.media_prefix)
    assert f"{asset.media_prefix}/audio/index.m3u8" in files
    assert not any("/seg_" in f and "/audio/" not in f for f in files)


def test_the_audio_rendition_is_aac_stereo_at_48_khz(environment, sync_tasks, tmp_path):
    asset = asset_from_file(environment, make_audio(tmp_path / "tone.mp3", codec="libmp3lame"))

    with media_storage().open(f"{asset.media_prefix}/audio/init.mp4", "rb") as fh:
        (tmp_path / "init.mp4").write_bytes(fh.read())
    [stream] = probe(str(tmp_path / "init.mp4"))["streams"]
    assert (stream["codec_name"], stream["channels"], stream["sample_rate"]) == ("aac", 2, "48000")


def test_the_poster_is_a_picture_of_the_waveform_on_a_dark_background(environment, sync_tasks,
                                                                       tmp_path):
    asset = asset_from_file(environment, make_audio(tmp_path / "tone.m4a", seconds=3))

    poster = tmp_path / "poster.jpg"
    with media_storage().open(f"{asset.media_prefix}/poster.jpg", "rb") as fh:
        poster.write_bytes(fh.read())
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
    [stream] = probe(str(poster))["streams"]
    assert (stream["width"], stream["height"]) == (1280, 720)
    corner, middle = _pixel(poster, 10, 10), _pixel(poster, 640, 360)
    assert max(corner) < 60 and corner != (0, 0, 0)  # dark, not black
    assert middle[2] > 200 and min(middle) > 100  # the light blue wave across the middle


def test_an_mp3_with_cover_art_is_sound_alone(environment, sync_tasks, tmp_path):
    song = make_audio(tmp_path / "song.mp3", codec="libmp3lame", cover=True)
    assert {s["codec_type"] for s in probe(str(song))["streams"]} == {"audio", "video"}

    asset = asset_from_file(environment, song)

    assert asset.status == Asset.Status.READY, asset.error_messages
    assert [t["type"] for t in asset.tracks] == ["audio"]
    assert [r.kind for r in asset.renditions.all()] == [Rendition.Kind.AUDIO]


@pytest.mark.parametrize(("name", "codec"), [
    ("tone.wav", "pcm_s16le"), ("tone.flac", "flac"), ("tone.opus", "libopus"),
])
def test_wav_flac_and_opus_are_accepted_too(environment, sync_tasks, tmp_path, name, codec):
    asset = asset_from_file(environment, make_audio(tmp_path / name, codec=codec))

    assert asset.status == Asset.Status.READY, asset.error_messages
    assert asset.duration == pytest.approx(2.0, abs=0.1)


def test_a_file_with_neither_sound_nor_picture_is_refused_as_non_video(environment, sync_tasks,
                                                                       tmp_path):
    captions = tmp_path / "captions.srt"
    captions.write_text("1\n00:00:00,000 --> 00:00:01,500\nHello\n")
    subtitles_only = tmp_path / "subtitles.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(captions), str(subtitles_only)],
                   check=True, timeout=60)

    in_matroska = asset_from_file(environment, subtitles_only)
    srt = asset_from_file(environment, captions)

    assert (in_matroska.status, in_matroska.error_type) == (Asset.Status.ERRORED, "non_video")
    assert "neither a video nor an audio track" in in_matroska.error_messages[0]
    assert (srt.status, srt.error_type) == (Asset.Status.ERRORED, "non_video")
    assert "subtitle file" in srt.error_messages[0] and "text track" in srt.error_messages[0]
    assert list_tree("assets") == [] and list_tree("uploads") == []


def test_sound_shorter_than_half_a_second_is_refused_as_audio(environment, sync_tasks, tmp_path):
    asset = asset_from_file(environment, make_audio(tmp_path / "blip.m4a", seconds=0.2))

    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "duration_too_short")
    assert asset.error_messages[0].startswith("The audio lasts")


@pytest.mark.parametrize(("seconds", "rate"), [(60, 8000), (3 * 3600, 1481), (12 * 3600, 1000)])
def test_a_long_recording_s_waveform_is_drawn_from_a_bounded_number_of_samples(seconds, rate):
    heard = Inspection(duration=seconds, format_name="mp3", video=None,
                       audio=AudioTrack(channels=2, codec="mp3", sample_rate=44100))

    plan = encode.make_plan(heard, [])

    assert plan.audio_only and plan.rungs == [] and plan.waveform_rate == rate
    assert seconds * rate <= max(encode.WAVEFORM_SAMPLES, seconds * encode.WAVEFORM_RATES[0])
