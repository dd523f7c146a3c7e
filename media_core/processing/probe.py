"""What is in a file, from ffprobe, with the same whitelists as every FFmpeg run."""

from __future__ import annotations

import json
import re
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
# will not open is damaged; one that matches none is not media at all.
_SIGNATURES = (
    (4, b"ftyp"), (4, b"moov"), (4, b"mdat"), (4, b"free"), (4, b"wide"),
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM
    (0, b"RIFF"), (0, b"FLV"), (0, b"OggS"), (0, b"\x00\x00\x01\xba"),
    (0, b"\x30\x26\xb2\x75"),  # ASF
    (0, b"\x06\x0e\x2b\x34"),  # MXF
    (0, b"ID3"), (0, b"fLaC"),  # MP3 with its tags in front, FLAC
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
    duration: float | None = None  # as the track's header says, when it says


@dataclass
class AudioTrack:
    channels: int
    codec: str
    sample_rate: int
    duration: float | None = None


@dataclass
class Inspection:
    """What the headers say. Durations here are claims: the encode measures the truth.

    Without `video` the file is audio only (a cover picture in an MP3 is not video)."""

    duration: float
    format_name: str
    video: VideoTrack | None
    audio: AudioTrack | None
    extra_tracks: list[dict] = field(default_factory=list)
    # ffprobe's own words on the tracks above (codec profile, pixel format, side data):
    # what deciding on a stream copy needs (copy.py).
    video_stream: dict = field(default_factory=dict, repr=False, compare=False)
    audio_stream: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def kind(self) -> str:
        """What people call the file: "video", or "audio" for sound alone."""
        return "video" if self.video else "audio"

    @property
    def aspect_ratio(self) -> str | None:
        if self.video is None:
            return None
        ratio = Fraction(self.video.width, self.video.height).limit_denominator(100)
        return f"{ratio.numerator}:{ratio.denominator}"

    @property
    def video_duration(self) -> float | None:
        return (self.video.duration or self.duration) if self.video else None

    def tracks(self, *, video_seconds: float | None, audio_seconds: float | None) -> list[dict]:
        """The tracks as published, with the durations that were decoded."""
        tracks = []
        if self.video and video_seconds is not None:
            tracks.append({"type": "video", "width": self.video.width, "height": self.video.height,
                           "frame_rate": round(self.video.frame_rate, 3), "codec": self.video.codec,
                           "duration": round(video_seconds, 3)})
        if self.audio and audio_seconds is not None:
            tracks.append({"type": "audio", "channels": self.audio.channels,
                           "codec": self.audio.codec, "sample_rate": self.audio.sample_rate,
                           "duration": round(audio_seconds, 3)})
        return tracks


def _rate(value: str | None) -> float:
    try:
        rate = Fraction(value or "0/0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(rate)


def rotation(stream: dict) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(side["rotation"]) % 360
    return int((stream.get("tags") or {}).get("rotate", 0)) % 360


def _stream_duration(stream: dict) -> float | None:
    """A track's own declared duration; Matroska keeps it in a DURATION tag."""
    try:
        seconds = float(stream.get("duration") or 0)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        tag = (stream.get("tags") or {}).get("DURATION", "")
        match = re.fullmatch(r"(\d+):(\d\d):(\d\d(?:\.\d+)?)", tag.strip())
        if match:
            h, m, s = match.groups()
            seconds = int(h) * 3600 + int(m) * 60 + float(s)
    return seconds if seconds > 0 else None


# FFmpeg will not allocate a picture this large (av_image_check_size), so it reports
# no size at all; its log still says what the header claimed.
_REFUSED_SIZE = re.compile(r"Picture size (\d+)x(\d+) is invalid")
# The demuxer FFmpeg chose for a file it then refused to open ("[srt @ 0x…] Format not
# on whitelist"). A subtitle file is no container of ours, nor a playlist: it has no
# picture and no sound.
_REFUSED_DEMUXER = re.compile(r"\[(\w+) @ 0x[0-9a-f]+\] Format not on whitelist")
_SUBTITLE_DEMUXERS = frozenset({"srt", "webvtt", "ass", "microdvd", "subviewer", "subviewer1",
                                "sami", "lrc", "scc", "stl", "mpl2", "pjs", "realtext", "vplayer",
                                "jacosub", "aqtitle", "mpsub"})


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
        refused = _REFUSED_DEMUXER.search(exc.stderr_tail)
        if refused and refused[1] in _SUBTITLE_DEMUXERS:
            raise MediaError("non_video", "The file is a subtitle file, with neither video nor "
                             "audio; add it to a ready asset as a text track.",
                             exc.stderr_tail) from exc
        if "not on whitelist" in exc.stderr_tail:
            raise MediaError("unsupported_format",
                             "The file is a kind of media container that is not accepted "
                             "(for example a playlist or a script).", exc.stderr_tail) from exc
        if looks_like_container(path):
            raise MediaError("malformed", "The file looks like a video or audio file but is "
                             "damaged or incomplete.", exc.stderr_tail) from exc
        raise MediaError("non_video", "The file is not a video or audio file.", exc.stderr_tail) from exc
    info = json.loads(result.stdout or "{}")
    streams = info.get("streams") or []
    fmt = info.get("format") or {}
    # A cover picture (an MP3's or an M4A's artwork) is an attached picture, not video.
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not (s.get("disposition") or {}).get("attached_pic")]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    if not videos and not audios:
        raise MediaError("non_video", "The file has neither a video nor an audio track.")
    video = _video_track(videos[0], result.stderr_tail) if videos else None
    audio = None
    if audios:
        a = audios[0]
        audio = AudioTrack(channels=int(a.get("channels") or 0), codec=a.get("codec_name", ""),
                           sample_rate=int(a.get("sample_rate") or 0),
                           duration=_stream_duration(a))
        if video is None and audio.channels <= 0:
            raise MediaError("malformed", "The audio track declares no channels; it cannot be "
                             "decoded.")
    kind = "video" if video else "audio"
    duration = float(fmt.get("duration") or (videos or audios)[0].get("duration") or 0)
    if duration <= 0:
        raise MediaError("malformed", "The file's duration cannot be read.")
    if duration < MIN_DURATION:
        raise MediaError("duration_too_short",
                         f"The {kind} lasts {duration:.2f} s; the shortest accepted is {MIN_DURATION} s.")
    return Inspection(duration=duration, format_name=fmt.get("format_name", ""),
                      video=video, audio=audio, video_stream=videos[0] if videos else {},
                      audio_stream=audios[0] if audios else {})


def _video_track(v: dict, stderr_tail: str) -> VideoTrack:
    width, height = int(v.get("width") or 0), int(v.get("height") or 0)
    if width <= 0 or height <= 0:
        claimed = _REFUSED_SIZE.search(stderr_tail)
        if claimed and max(int(claimed[1]), int(claimed[2])) > MAX_DIMENSION:
            raise MediaError("resolution_too_large",
                             f"The video declares {claimed[1]}×{claimed[2]}; the largest accepted "
                             f"side is {MAX_DIMENSION}.", stderr_tail)
        raise MediaError("malformed", "The video track has no picture size.")
    sar = _rate(v.get("sample_aspect_ratio", "1:1").replace(":", "/")) or 1.0
    width = int(round(width * sar))
    if rotation(v) in (90, 270):
        width, height = height, width
    if max(width, height) > MAX_DIMENSION:
        raise MediaError("resolution_too_large",
                         f"The video is {width}×{height}; the largest accepted side is {MAX_DIMENSION}.")
    frame_rate = _rate(v.get("avg_frame_rate")) or _rate(v.get("r_frame_rate"))
    if not 0 < frame_rate <= 1000:
        frame_rate = 30.0
    return VideoTrack(width=width, height=height, frame_rate=frame_rate,
                      codec=v.get("codec_name", ""), duration=_stream_duration(v))
