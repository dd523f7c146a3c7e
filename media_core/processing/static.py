"""Downloads made from the ladder, not from the original: `highest.mp4` (the top video
rung with the audio) and `audio.m4a`, by joining the stored HLS segments and remuxing
them into one MP4 with its index at the front (`+faststart`, so a player starts before
the whole file arrives). Nothing is encoded a second time: a remux reads and writes the
bytes once."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings

from media_core import ffmpeg

from .segments import join, read_playlist

HIGHEST = "highest.mp4"
AUDIO = "audio.m4a"
NAMES = (HIGHEST, AUDIO)
RUN_TIMEOUT = 600


def folder(prefix: str) -> str:
    """Where an asset's downloads are stored: beside the renditions they are made from,
    so a reprocessed asset's old downloads go with its old renditions."""
    return f"{prefix}/static"


def make(*, prefix: str, name: str, video: str | None, audio: str | None, target: Path) -> None:
    """Write download `name` of the renditions under `prefix` (`video`, `audio`: the
    rendition names it takes) to `target`. Raises FFmpegError or NotFound."""
    parts = [video] if name == HIGHEST else []
    if audio:
        parts.append(audio)
    with tempfile.TemporaryDirectory(dir=settings.PROCESSING_TMP_DIR) as tmp:
        args = [settings.FFMPEG_BIN, "-nostdin", "-hide_banner", "-loglevel", "error"]
        for i, rendition in enumerate(parts):
            init, segments = read_playlist(prefix, rendition)
            joined = Path(tmp) / f"{i}.mp4"
            join(init, segments, joined)
            args += ["-protocol_whitelist", ffmpeg.PROTOCOL_WHITELIST,
                     "-format_whitelist", ffmpeg.FORMAT_WHITELIST, "-i", str(joined)]
        for i in range(len(parts)):
            args += ["-map", f"{i}:0"]
        args += ["-c", "copy", "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4",
                 str(target), "-y"]
        ffmpeg.run(args, timeout=RUN_TIMEOUT)
