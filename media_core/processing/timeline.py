"""Where an asset's picture starts on its renditions' timeline, read from the fMP4 the
encode wrote.

FFmpeg shifts every stream so that no decode timestamp is negative: with B-frames the
first frame is presented a little after 0 (two frames at 30 fps with the veryfast
preset, none with ultrafast). Text tracks say where their cue time 0 falls on this
timeline (X-TIMESTAMP-MAP), so that a cue written for the source's first frame shows
with that frame.
"""

from __future__ import annotations

import logging
import re
import struct

from media_core.storage import media_storage

log = logging.getLogger("kino.processing")

MPEGTS_CLOCK = 90_000
# The first fragment's boxes (moof) come before its media data (mdat).
_HEAD_BYTES = 64 * 1024
_CONTAINERS = {b"moov", b"trak", b"mdia", b"moof", b"traf"}
_MAP = re.compile(r'#EXT-X-MAP:URI="([^"]+)"')


def first_frame_mpegts(media_prefix: str, rendition: str) -> int:
    """The presentation time of the rendition's first sample, in 90 kHz ticks; 0 when the
    files cannot be read as the encode writes them (then cues are off by at most the
    encoder's delay, a few frames)."""
    storage = media_storage()
    folder = f"{media_prefix}/{rendition}"
    try:
        with storage.open(f"{folder}/index.m3u8", "rb") as fh:
            playlist = fh.read().decode()
        init_name = _MAP.search(playlist).group(1)
        first_segment = next(line for line in playlist.splitlines()
                             if line and not line.startswith("#"))
        with storage.open(f"{folder}/{init_name}", "rb") as fh:
            timescale = _timescale(fh.read(_HEAD_BYTES))
        with storage.open(f"{folder}/{first_segment}", "rb") as fh:
            start = _first_presentation(fh.read(_HEAD_BYTES))
    except (OSError, ValueError, AttributeError, StopIteration, struct.error):
        log.warning("could not read where %s starts; text tracks are timed from 0", folder,
                    exc_info=True)
        return 0
    return round(start * MPEGTS_CLOCK / timescale)


def _boxes(data: bytes, start: int = 0, end: int | None = None):
    """(type, payload start, payload end) of each box, containers opened."""
    end = len(data) if end is None else end
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, at + 8)[0], 16
        if size < header:
            break
        yield kind, at + header, min(at + size, end)
        if kind in _CONTAINERS:
            yield from _boxes(data, at + header, min(at + size, end))
        at += size


def _timescale(init: bytes) -> int:
    for kind, start, _ in _boxes(init):
        if kind == b"mdhd":
            version = init[start]
            return struct.unpack_from(">I", init, start + (20 if version == 1 else 12))[0]
    raise ValueError("no mdhd in the init segment")


def _first_presentation(segment: bytes) -> int:
    """baseMediaDecodeTime plus the first sample's composition offset (track timescale)."""
    decode_time = None
    for kind, start, _ in _boxes(segment):
        if kind == b"tfdt":
            version = segment[start]
            decode_time = (struct.unpack_from(">Q", segment, start + 4)[0] if version == 1
                           else struct.unpack_from(">I", segment, start + 4)[0])
        elif kind == b"trun" and decode_time is not None:
            version, flags = segment[start], int.from_bytes(segment[start + 1:start + 4], "big")
            at = start + 8  # version and flags, sample count
            at += 4 if flags & 0x1 else 0  # data offset
            at += 4 if flags & 0x4 else 0  # first sample's flags
            if not flags & 0x800:
                return decode_time  # no composition offsets: presented as decoded
            at += sum(4 for bit in (0x100, 0x200, 0x400) if flags & bit)
            offset = struct.unpack_from(">i" if version == 1 else ">I", segment, at)[0]
            return decode_time + offset
    raise ValueError("no tfdt and trun in the first fragment")
