"""A corpus of bad (and a few healthy) media files, built with real FFmpeg at test time.

Each builder writes one file into a folder and returns its path; the same call gives
the same file. Nothing binary is committed: the cases are small edits of tiny clips.
"""

from __future__ import annotations

import random
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.clips import make_clip

TEN_HOURS = 10 * 3600


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=120)


def random_bytes(folder: Path) -> Path:
    path = folder / "noise.mp4"
    path.write_bytes(random.Random(1).randbytes(200_000))
    return path


def empty(folder: Path) -> Path:
    path = folder / "empty.mp4"
    path.write_bytes(b"")
    return path


def _cut(source: Path, path: Path, fraction: float) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def truncated_index_at_front(folder: Path) -> Path:
    """The index (moov) says 10 s; only the first 30 % of the samples follow it."""
    full = make_clip(folder / "full-faststart.mp4", seconds=10, extra=["-movflags", "+faststart"])
    return _cut(full, folder / "truncated-faststart.mp4", 0.3)


def truncated_index_at_end(folder: Path) -> Path:
    """FFmpeg's default layout: the index is written last, so the cut loses it."""
    full = make_clip(folder / "full.mp4", seconds=10)
    return _cut(full, folder / "truncated.mp4", 0.3)


def _playlist(target: Path) -> str:
    return (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n"
            f"#EXTINF:2.0,\n{target}\n#EXT-X-ENDLIST\n")


def hls_playlist_named_mp4(folder: Path) -> Path:
    """A playlist pointing at a perfectly good local clip: following it reads that file."""
    path = folder / "playlist.mp4"
    path.write_text(_playlist(make_clip(folder / "local.mp4")))
    return path


def hls_playlist(folder: Path) -> Path:
    path = folder / "playlist.m3u8"
    path.write_text(_playlist(make_clip(folder / "local.mp4")))
    return path


def concat_script(folder: Path) -> Path:
    first, second = make_clip(folder / "one.mp4"), make_clip(folder / "two.mp4")
    path = folder / "script.mp4"
    path.write_text(f"ffconcat version 1.0\nfile '{first}'\nfile '{second}'\n")
    return path


def giant_dimensions(folder: Path) -> Path:
    """A one-second Motion JPEG AVI of 48×32 whose headers all say 30000×30000.

    The size is written in the AVI headers (32-bit little-endian pairs) and in each
    frame's JPEG start-of-frame segment (16-bit big-endian); both are rewritten.
    """
    small = folder / "small.avi"
    _ffmpeg("-f", "lavfi", "-i", "color=c=gray:size=48x32:rate=5:duration=1",
            "-c:v", "mjpeg", "-f", "avi", str(small))
    data = bytearray(small.read_bytes())
    data = data.replace(struct.pack("<II", 48, 32), struct.pack("<II", 30000, 30000))
    start = data.find(b"\xff\xc0")
    while start >= 0:
        # FF C0, length (2), precision (1), then height and width.
        data[start + 5:start + 9] = struct.pack(">HH", 30000, 30000)
        start = data.find(b"\xff\xc0", start + 2)
    path = folder / "giant.avi"
    path.write_bytes(bytes(data))
    return path


def audio_only(folder: Path) -> Path:
    path = folder / "audio.m4a"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2",
            "-c:a", "aac", str(path))
    return path


def truncated_audio_index_at_front(folder: Path) -> Path:
    """Sound alone whose index says 10 s; only the first 30 % of the samples follow it."""
    full = folder / "full-audio.m4a"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=10",
            "-c:a", "aac", "-movflags", "+faststart", str(full))
    return _cut(full, folder / "truncated-audio.m4a", 0.3)


def subtitles_only(folder: Path) -> Path:
    """A Matroska file that opens, whose one track is subtitles: no picture, no sound."""
    captions = folder / "captions.srt"
    captions.write_text("1\n00:00:00,000 --> 00:00:01,500\nHello\n")
    path = folder / "subtitles.mkv"
    _ffmpeg("-i", str(captions), str(path))
    return path


def one_frame(folder: Path) -> Path:
    return make_clip(folder / "one-frame.mp4", audio=False, extra=["-frames:v", "1"])


def _box(data: bytearray, kind: bytes) -> int:
    """Where the first `kind` box starts (its size field). Each is version 0 here."""
    at = data.find(kind)
    assert at >= 4, kind
    return at - 4


def ten_hours_declared(folder: Path) -> Path:
    """A 2-second, 1.7 KB clip whose movie header (and track header, edit list and media
    header) declare 10 hours: ffprobe's format duration says 36000 s."""
    return declaring(folder, seconds=2, declared=TEN_HOURS, name="ten-hours.mp4")


def declaring(folder: Path, *, seconds: int, declared: int, name: str) -> Path:
    """A clip of `seconds` whose headers say it lasts `declared` seconds."""
    clip = folder / f"tiny-{seconds}.mp4"
    _ffmpeg("-f", "lavfi", "-i", f"color=c=black:size=64x36:rate=10:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", str(clip))
    data = bytearray(clip.read_bytes())
    mvhd = _box(data, b"mvhd")
    movie_scale = struct.unpack(">I", data[mvhd + 20:mvhd + 24])[0]
    lie = struct.pack(">I", declared * movie_scale)
    data[mvhd + 24:mvhd + 28] = lie  # size, type, version+flags, created, modified, scale
    tkhd = _box(data, b"tkhd")
    data[tkhd + 28:tkhd + 32] = lie  # … created, modified, track id, reserved
    elst = _box(data, b"elst")
    data[elst + 16:elst + 20] = lie  # … version+flags, entry count, segment duration
    mdhd = _box(data, b"mdhd")
    media_scale = struct.unpack(">I", data[mdhd + 20:mdhd + 24])[0]
    data[mdhd + 24:mdhd + 28] = struct.pack(">I", declared * media_scale)
    path = folder / name
    path.write_bytes(bytes(data))
    return path


def healthy_index_at_front(folder: Path) -> Path:
    return make_clip(folder / "healthy.mp4", extra=["-movflags", "+faststart"])


def audio_outlasts_video(folder: Path) -> Path:
    """A 2-second picture over 4 seconds of sound: a real file, not a damaged one."""
    path = folder / "long-audio.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30:duration=2",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
            str(path))
    return path


@dataclass(frozen=True)
class Case:
    build: Callable[[Path], Path]
    outcome: str  # "ready", or the asset's errors.type
    message: str = ""  # a part of the message the user is shown

    @property
    def name(self) -> str:
        return self.build.__name__


CASES = [
    Case(random_bytes, "non_video", "not a video"),
    Case(empty, "empty_file", "empty"),
    Case(truncated_index_at_front, "malformed", "declares 10.0 s but only"),
    Case(truncated_index_at_end, "malformed", "damaged or incomplete"),
    Case(hls_playlist_named_mp4, "unsupported_format", "playlist"),
    Case(hls_playlist, "unsupported_format", "playlist"),
    Case(concat_script, "unsupported_format", "script"),
    Case(giant_dimensions, "resolution_too_large", "30000×30000"),
    Case(subtitles_only, "non_video", "neither a video nor an audio track"),
    Case(truncated_audio_index_at_front, "malformed", "declares 10.0 s but only"),
    Case(one_frame, "duration_too_short", "0.03 s"),
    Case(ten_hours_declared, "malformed", "declares 36000.0 s but only 2.0 s"),
    Case(healthy_index_at_front, "ready"),
    Case(audio_outlasts_video, "ready"),
    Case(audio_only, "ready"),
]
