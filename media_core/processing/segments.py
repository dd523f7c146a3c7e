"""Reading a rendition's HLS files back from storage: its media playlist's init segment
and segments, and joining them into one fragmented MP4 that FFmpeg reads like any MP4.
Images and downloads are made from these, never from the original."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from foundation.errors import NotFound
from media_core.storage import CHUNK, media_storage

SEGMENT_NAME = re.compile(r"^(init(_\d{1,3})?\.mp4|seg_\d{5,9}\.m4s)$")


@dataclass(frozen=True)
class Segment:
    name: str
    start: float
    duration: float


def read_playlist(prefix: str, rendition_name: str) -> tuple[str, list[Segment]]:
    """The init segment's storage name and the segments, with their start times, of the
    rendition `rendition_name` stored under `prefix`."""
    base = f"{prefix}/{rendition_name}"
    try:
        with media_storage().open(f"{base}/index.m3u8", "rb") as fh:
            text = fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        raise NotFound("The rendition's playlist is missing.") from None
    init, segments, start, length = None, [], 0.0, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-MAP:"):
            found = re.search(r'URI="([^"]+)"', line)
            init = found.group(1) if found else None
        elif line.startswith("#EXTINF:"):
            length = float(line[len("#EXTINF:"):].split(",")[0])
        elif line and not line.startswith("#") and length is not None:
            if not SEGMENT_NAME.match(line):
                raise NotFound("The rendition's playlist names an unexpected file.")
            segments.append(Segment(f"{base}/{line}", start, length))
            start, length = start + length, None
    if not init or not SEGMENT_NAME.match(init) or not segments:
        raise NotFound("The rendition's playlist has no segments.")
    return f"{base}/{init}", segments


def join(init: str, segments: list[Segment], target: Path) -> None:
    """The init segment and `segments`, in order, as one local file."""
    storage = media_storage()
    with open(target, "wb") as out:
        for name in [init, *(s.name for s in segments)]:
            try:
                with storage.open(name, "rb") as src:
                    shutil.copyfileobj(src, out, CHUNK)
            except FileNotFoundError:
                raise NotFound("A segment of the rendition is missing.") from None
