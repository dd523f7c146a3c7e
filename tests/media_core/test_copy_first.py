"""Remux-first: which inputs play from a stream copy of themselves at once, and that one
that does is ready (playable) before its ladder, which then joins it."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest

from media_core import ffmpeg
from media_core.models import Asset
from media_core.processing import copy, probe
from media_core.storage import list_tree, media_storage
from tests.clips import make_clip
from tests.factories import asset_from_file

pytestmark = pytest.mark.django_db

SIZE = "320x180"


def encoded(path: Path, *args: str, seconds: float = 4, rate: int = 30, audio: bool = True,
            source: str | None = None) -> Path:
    """A clip made by the command line an encoder or a phone would have used."""
    command = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
               source or f"testsrc2=size={SIZE}:rate={rate}:duration={seconds}"]
    if audio:
        command += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                    "-c:a", "aac", "-shortest"]
    subprocess.run([*command, *args, str(path)], check=True, timeout=120)
    return path


def turned_on_its_side(path: Path) -> None:
    """As a phone held upright writes it: the picture stored landscape, the video track's
    header (tkhd, after the movie's mvhd) saying to show it turned by 90 degrees."""
    data = bytearray(path.read_bytes())
    identity = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    track = data.find(identity, data.find(identity) + 1)
    assert track > 0
    data[track:track + 36] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))


def verdict(path: Path) -> copy.Verdict:
    return copy.judge(probe.inspect(path), path)


X264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "60"]


def test_a_phone_style_h264_aac_file_is_copied(tmp_path):
    assert verdict(encoded(tmp_path / "a.mp4", *X264, "-profile:v", "high")) == copy.Verdict(True, "")


def test_without_sound_too(tmp_path):
    assert verdict(encoded(tmp_path / "a.mp4", *X264, audio=False)).copy


def test_a_variable_frame_rate_is_copied_as_it_is(tmp_path):
    vfr = encoded(tmp_path / "vfr.mp4", *X264, "-fps_mode", "vfr", audio=False, source=(
        f"testsrc2=size={SIZE}:rate=30:duration=2,setpts='if(lt(N,30),N/30,1+(N-30)/12)/TB'"))
    assert verdict(vfr).copy


@pytest.mark.parametrize(("name", "args", "why"), [
    ("ten_second_gop", [*X264[:-2], "-g", "300", "-keyint_min", "300", "-sc_threshold", "0"],
     "keyframes 10.0 s apart"),
    ("open_gop", [*X264, "-bf", "3", "-x264-params", "open-gop=1:keyint=60:min-keyint=60:scenecut=0"],
     "open GOPs"),
    ("high_422", ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv422p"],
     "H.264 profile High 4:2:2"),
    ("ten_bit", ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p10le"],
     "H.264 profile High 10"),
    ("rotated", X264, "rotated"),
    ("hevc", ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"],
     "video codec hevc"),
    ("mp3_sound", [*X264, "-c:a", "libmp3lame"], "sound mp3"),
])
def test_what_is_not_standard_is_encoded(tmp_path, name, args, why):
    seconds = 12 if name == "ten_second_gop" else 4
    path = encoded(tmp_path / f"{name}.mp4", *args, seconds=seconds)
    if name == "rotated":
        turned_on_its_side(path)
    found = verdict(path)

    assert not found.copy
    assert found.reason.startswith(why), found.reason


def test_timestamps_far_from_zero_are_copied_from_zero(tmp_path):
    late = encoded(tmp_path / "late.ts", *X264, "-output_ts_offset", "3600", "-f", "mpegts")
    inspection = probe.inspect(late)
    assert verdict(late).copy
    plan = copy.plan(inspection)
    out = tmp_path / "out"
    ffmpeg.run(copy.remux_args(plan, late, out), timeout=60)

    start = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=start_time",
                            "-of", "csv=p=0", str(out / copy.COPY_NAME / "index.m3u8")],
                           capture_output=True, text=True, check=True).stdout
    assert float(start) < 1.5


@pytest.mark.storage
def test_a_standard_upload_plays_from_its_copy_then_from_its_ladder(environment, sync_tasks,
                                                                    tmp_path, monkeypatch):
    seen = {}
    from media_core.services import processing

    publish_first = processing.job_publish_first

    def spy(*, job, renditions, **kwargs):
        published = publish_first(job=job, renditions=renditions, **kwargs)
        asset = Asset.objects.get(pk=job.asset_id)
        prefix = asset.media_prefix
        seen.update(status=asset.status, renditions_status=asset.renditions_status,
                    names=sorted(r["name"] for r in renditions), published=published,
                    stored=media_storage().exists(f"{prefix}/source/index.m3u8"),
                    # Only the copy's own files: the ladder is being written beside it.
                    others=[name for name in list_tree(prefix) if not name.startswith(
                        (f"{prefix}/source/", f"{prefix}/audio/", f"{prefix}/poster.jpg"))])
        return published

    monkeypatch.setattr(processing, "job_publish_first", spy)
    priorities = {}
    run = ffmpeg.run

    def noting(args, **kwargs):  # the copy goes first; the ladder gives way to it
        what = "ladder" if "-filter_complex" in args else "copy" if "copy" in args else "other"
        priorities.setdefault(what, kwargs.get("nice", 0))
        return run(args, **kwargs)

    monkeypatch.setattr(ffmpeg, "run", noting)
    clip = encoded(tmp_path / "in.mp4", *X264, "-profile:v", "high", seconds=4,
                   source="testsrc2=size=640x360:rate=30:duration=4")

    asset = asset_from_file(environment, clip)

    assert priorities["ladder"] == 10 and priorities["copy"] == 0

    # Playable before the ladder: the copy and its sound, stored, the asset ready.
    assert seen == {"status": "ready", "renditions_status": "preparing",
                    "names": ["audio", "source"], "published": True, "stored": True,
                    "others": []}
    asset.refresh_from_db()
    assert (asset.status, asset.renditions_status) == ("ready", "ready")
    names = [r.name for r in asset.renditions.all()]
    assert sorted(names) == ["240p", "360p", "audio", "source"]
    source = asset.renditions.get(name="source")
    assert (source.width, source.height, source.codecs[:4]) == (640, 360, "avc1")
    assert source.bitrate > 0
    # Every rendition plays from storage as stored (the copy's files went first, the
    # ladder's after it was done: none of its files half-written).
    assert {name: stored_seconds(asset.media_prefix, name, tmp_path) for name in names} == {
        name: pytest.approx(4.0, abs=0.1) for name in names}


def stored_seconds(prefix: str, rendition: str, tmp_path: Path) -> float:
    folder = tmp_path / "stored" / rendition
    folder.mkdir(parents=True)
    for name in list_tree(f"{prefix}/{rendition}"):
        with media_storage().open(name) as fh:
            (folder / name.rsplit("/", 1)[1]).write_bytes(fh.read())
    found = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "csv=p=0", str(folder / "index.m3u8")],
                           capture_output=True, text=True, timeout=60)
    assert found.returncode == 0, found.stderr
    return float(found.stdout)


def test_a_ladder_that_fails_after_the_copy_leaves_the_asset_playing(environment, sync_tasks,
                                                                     tmp_path, monkeypatch,
                                                                     settings):
    from media_core.processing import encode

    settings.PROCESSING_MAX_ATTEMPTS = 1

    def broken(plan, source, out_dir, trim=None, **kwargs):  # an encoder FFmpeg lacks
        return [settings.FFMPEG_BIN, "-v", "error", "-f", "lavfi", "-i", "testsrc2=d=1",
                "-c:v", "no_such_encoder", "-f", "null", "-"]

    monkeypatch.setattr(encode, "build_args", broken)
    asset = asset_from_file(environment, make_clip(tmp_path / "in.mp4", seconds=3, size=SIZE))

    asset.refresh_from_db()
    assert (asset.status, asset.renditions_status) == ("ready", "errored")
    assert sorted(r.name for r in asset.renditions.all()) == ["audio", "source"]
    assert media_storage().exists(f"{asset.media_prefix}/source/index.m3u8")
    job = asset.jobs.get()
    assert (job.status, job.error_code) == ("failed", "encoder_failed")


def test_any_other_upload_plays_from_its_first_encoded_segments(environment, sync_tasks,
                                                               tmp_path, monkeypatch):
    """Not standard (10-bit): no copy, but its ladder plays while it is encoded, its media
    playlists growing EVENT playlists until they are done."""
    from media_core.processing import pipeline
    from media_core.services import processing

    monkeypatch.setattr(pipeline, "HEARTBEAT_SECONDS", 0.05)
    seen = {}
    publish_first = processing.job_publish_first

    def spy(*, job, renditions, **kwargs):
        published = publish_first(job=job, renditions=renditions, **kwargs)
        asset = Asset.objects.get(pk=job.asset_id)
        with media_storage().open(f"{asset.media_prefix}/360p/index.m3u8") as fh:
            playlist = fh.read().decode()
        named = re.findall(r'URI="([^"]+)"', playlist) + [
            line for line in playlist.splitlines() if line.startswith("seg_")]
        seen.update(status=asset.status, names=sorted(r["name"] for r in renditions),
                    how=kwargs["how"], playlist=playlist, published=published, named=named,
                    missing=[name for name in named if not media_storage().exists(
                        f"{asset.media_prefix}/360p/{name}")])
        return published

    monkeypatch.setattr(processing, "job_publish_first", spy)
    clip = encoded(tmp_path / "ten_bit.mp4", "-c:v", "libx264", "-preset", "ultrafast",
                   "-pix_fmt", "yuv420p10le", seconds=14,
                   source="testsrc2=size=640x360:rate=30:duration=14")

    asset = asset_from_file(environment, clip)

    assert seen["published"] and seen["status"] == "ready"
    assert (seen["how"], seen["names"]) == ("its first encoded segments", ["240p", "360p", "audio"])
    # Growing: an EVENT playlist, not yet ended, naming only stored segments.
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in seen["playlist"]
    assert "#EXT-X-ENDLIST" not in seen["playlist"]
    # Its init segment and every segment it names were stored before it.
    stored = [line for line in seen["playlist"].splitlines() if line.startswith("seg_")]
    assert stored and seen["named"][0].startswith("init") and seen["missing"] == []
    asset.refresh_from_db()
    assert (asset.status, asset.renditions_status) == ("ready", "ready")
    with media_storage().open(f"{asset.media_prefix}/360p/index.m3u8") as fh:
        final = fh.read().decode()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in final and final.rstrip().endswith("#EXT-X-ENDLIST")
    assert len([line for line in final.splitlines() if line.startswith("seg_")]) > len(stored)


def test_an_upload_refused_by_its_packets_drops_the_copy_begun_beside_them(environment,
                                                                          sync_tasks, tmp_path):
    """Open GOPs pass the headers: the copy is begun while the packets are read, then
    abandoned; the asset plays from its ladder, with the ladder's own sound."""
    clip = encoded(tmp_path / "open.mp4", *X264, "-bf", "3", "-x264-params",
                   "open-gop=1:keyint=60:min-keyint=60:scenecut=0", seconds=4)

    asset = asset_from_file(environment, clip)

    asset.refresh_from_db()
    assert (asset.status, asset.renditions_status) == ("ready", "ready")
    names = sorted(r.name for r in asset.renditions.all())
    assert names == ["180p", "audio"]
    assert not [name for name in list_tree(asset.media_prefix) if "/source/" in name]
    assert stored_seconds(asset.media_prefix, "audio", tmp_path) == pytest.approx(4.0, abs=0.1)
