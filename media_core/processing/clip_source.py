"""What a clip is encoded from: the segments of its source's top rung (and audio) that
cover its range, joined and remuxed into one local MP4 without decoding anything, plus
where in that file the range starts. The ladder encode then cuts at that point to the
frame (an input seek decodes from the keyframe before it and drops what precedes).

Reading the top rung, not the original, keeps it cheap (a few segments, not the whole
file) and works when the original is gone, as with a live recording's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from media_core import ffmpeg
from media_core.models import Asset, Rendition

from .errors import MediaError
from .segments import Segment, join, read_playlist


@dataclass(frozen=True)
class Trim:
    offset: float  # seconds into the joined file where the clip starts
    length: float


def _covering(segments: list[Segment], start: float, end: float) -> list[Segment]:
    return [s for s in segments if s.start + s.duration > start and s.start < end]


@contextmanager
def clip_source(clip: Asset, work: Path) -> Iterator[tuple[Path, Trim]]:
    source = Asset.objects.filter(pk=clip.source_asset_id).first()
    if source is None or source.deleted_at or source.status != Asset.Status.READY:
        raise MediaError("source_unavailable",
                         "The asset this clip is cut from is no longer ready to cut from.")
    renditions = list(source.renditions.all())
    videos = sorted((r for r in renditions if r.kind == Rendition.Kind.VIDEO),
                    key=lambda r: (r.height or 0, r.bitrate), reverse=True)
    audio = next((r for r in renditions if r.kind == Rendition.Kind.AUDIO), None)
    parts = [r for r in (videos[0] if videos else None, audio) if r is not None]
    start, end = clip.clip_start, clip.clip_end
    args = [settings.FFMPEG_BIN, "-nostdin", "-hide_banner", "-loglevel", "error"]
    offset = None
    for i, rendition in enumerate(parts):
        init, segments = read_playlist(source.media_prefix, rendition.name)
        covering = _covering(segments, start, end)
        if not covering:
            raise MediaError("clip_out_of_range", "The clip's range is outside the source.")
        if offset is None:  # the first part (the video, if any) sets where the range starts
            offset = start - covering[0].start
        joined = work / f"part{i}.mp4"
        join(init, covering, joined)
        # Each part starts from its first covering segment: line the others up with it.
        shift = covering[0].start - (start - offset)
        args += ["-itsoffset", f"{shift:.6f}", "-protocol_whitelist", ffmpeg.PROTOCOL_WHITELIST,
                 "-format_whitelist", ffmpeg.FORMAT_WHITELIST, "-i", str(joined)]
    target = work / "clip-source.mp4"
    for i in range(len(parts)):
        args += ["-map", f"{i}:0"]
    args += ["-c", "copy", "-f", "mp4", str(target), "-y"]
    ffmpeg.run(args, timeout=600)
    yield target, Trim(offset=round(offset or 0.0, 6), length=round(end - start, 6))
