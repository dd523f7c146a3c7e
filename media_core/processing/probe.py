"""What is in a file, from ffprobe, with the same whitelists as every FFmpeg run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from django.conf import settings

from media_core import ffmpeg

from .errors import MediaError

MIN_DURATION = 0.5
MAX_DIMENSION = 8192
PROBE_TIMEOUT = 60

# Leading bytes of the containers we read. A file that starts like one of these but
# will not open is damaged; one that matches none is not a video at all.
_SIGNATURES = (
    (4, b"ftyp"), (4, b"moov"), (4, b"mdat"), (4, b"free"), (4, b"wide"),
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM
    (0, b"RIFF"), (0, b"FLV"), (0, b"OggS"), (0, b"\x00\x00\x01\xba"),
    (0, b"\x30\x26\xb2\x75"),  # ASF
    (0, b"\x06\x0e\x2b\x34"),  # MXF
)


TS_PACKET = 188


def looks_like_container(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(3 * TS_PACKET)
    # MPEG-TS: a sync byte at the start of each 188-byte packet (one alone is chance).
    if len(head) == 3 * TS_PACKET and all(head[i * TS_PACKET] == 0x47 for i in range(3)):
        return True
    return any(head[offset:offset + len(sig)] == sig for offset, sig in _SIGNATURES)


@dataclass
class VideoTrack:
    width: int  # as displayed: rotation and pixel aspect applied
    height: int
    frame_rate: float
    codec: str


@dataclass
class AudioTrack:
    channels: int
    codec: str
    sample_rate: int


@dataclass
class Inspection:
    duration: float
    format_name: str
    video: VideoTrack
    audio: AudioTrack | None
    extra_tracks: list[dict] = field(default_factory=list)

    @property
    def aspect_ratio(self) -> str:
        ratio = Fraction(self.video.width, self.video.height).limit_denominator(100)
        return f"{ratio.numerator}:{ratio.denominator}"

    def tracks(self) -> list[dict]:
        tracks = [{"type": "video", "width": self.video.width, "height": self.video.height,
                   "frame_rate": round(self.video.frame_rate, 3), "codec": self.video.codec,
                   "duration": round(self.duration, 3)}]
        if self.audio:
            tracks.append({"type": "audio", "channels": self.audio.channels,
                           "codec": self.audio.codec, "sample_rate": self.audio.sample_rate,
                           "duration": round(self.duration, 3)})
        return tracks


def _rate(value: str | None) -> float:
    try:
        rate = Fraction(value or "0/0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(rate)


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(side["rotation"]) % 360
    return int((stream.get("tags") or {}).get("rotate", 0)) % 360


def probe_args(path: Path) -> list[str]:
    return [
        settings.FFPROBE_BIN, "-v", "error",
        "-protocol_whitelist", ffmpeg.PROTOCOL_WHITELIST,
        "-format_whitelist", ffmpeg.FORMAT_WHITELIST,
        "-show_format", "-show_streams", "-of", "json", str(path),
    ]


def inspect(path: Path) -> Inspection:
    if path.stat().st_size == 0:
        raise MediaError("empty_file", "The file is empty.")
    try:
        result = ffmpeg.run(probe_args(path), timeout=PROBE_TIMEOUT, keep_stdout=True)
    except ffmpeg.FFmpegError as exc:
        if exc.timed_out:
            raise MediaError("malformed", "The file could not be read in time.", exc.stderr_tail) from exc
        if "not on whitelist" in exc.stderr_tail:
            raise MediaError("unsupported_format",
                             "The file is a kind of media container that is not accepted "
                             "(for example a playlist or a script).", exc.stderr_tail) from exc
        if looks_like_container(path):
            raise MediaError("malformed", "The file looks like a video but is damaged or "
                             "incomplete.", exc.stderr_tail) from exc
        raise MediaError("non_video", "The file is not a video or audio file.", exc.stderr_tail) from exc
    info = json.loads(result.stdout or "{}")
    streams = info.get("streams") or []
    fmt = info.get("format") or {}
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not (s.get("disposition") or {}).get("attached_pic")]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    if not videos:
        if audios:
            raise MediaError("non_video", "The file has audio but no video track; audio-only "
                             "assets are not supported.")
        raise MediaError("non_video", "The file has no video track.")
    v = videos[0]
    width, height = int(v.get("width") or 0), int(v.get("height") or 0)
    if width <= 0 or height <= 0:
        raise MediaError("malformed", "The video track has no picture size.")
    sar = _rate(v.get("sample_aspect_ratio", "1:1").replace(":", "/")) or 1.0
    width = int(round(width * sar))
    if _rotation(v) in (90, 270):
        width, height = height, width
    if max(width, height) > MAX_DIMENSION:
        raise MediaError("resolution_too_large",
                         f"The video is {width}×{height}; the largest accepted side is {MAX_DIMENSION}.")
    frame_rate = _rate(v.get("avg_frame_rate")) or _rate(v.get("r_frame_rate"))
    if not 0 < frame_rate <= 1000:
        frame_rate = 30.0
    duration = float(fmt.get("duration") or v.get("duration") or 0)
    if duration <= 0:
        raise MediaError("malformed", "The file's duration cannot be read.")
    if duration < MIN_DURATION:
        raise MediaError("duration_too_short",
                         f"The video lasts {duration:.2f} s; the shortest accepted is {MIN_DURATION} s.")
    audio = None
    if audios:
        a = audios[0]
        audio = AudioTrack(channels=int(a.get("channels") or 0), codec=a.get("codec_name", ""),
                           sample_rate=int(a.get("sample_rate") or 0))
    return Inspection(duration=duration, format_name=fmt.get("format_name", ""),
                      video=VideoTrack(width=width, height=height, frame_rate=frame_rate,
                                       codec=v.get("codec_name", "")),
                      audio=audio)
