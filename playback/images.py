"""Images on demand: thumbnails, animated GIFs and storyboard sprites.

Made by FFmpeg from the renditions, never from the original (which may be gone, and is
large): the few fMP4 segments that cover the requested times are joined behind their
init segment into one local file, which the mov demuxer reads like any MP4, under the
same format and protocol whitelists as every other run. Each image is stored under the
asset's media prefix, keyed by its normalised parameters, so a repeated request costs
one storage read; a reprocessed asset plays from a new prefix and the old one is swept,
so the cache never needs invalidating.

Every request is bounded: sizes, spans and frame rates have ranges, the input is at
most a few segments (a storyboard: one per tile), each run has a time limit, and a
process makes only a few images at once.
"""

from __future__ import annotations

import hashlib
import math
import re
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile

from foundation.errors import DomainError, NotFound, ValidationFailed
from media_core import ffmpeg
from media_core.models import Asset, Rendition
from media_core.storage import CHUNK, media_storage

FIT_MODES = ("preserve", "crop", "pad")
MIN_SIZE, MAX_SIZE = 16, 1920
GIF_MAX_WIDTH, GIF_DEFAULT_WIDTH, GIF_MAX_HEIGHT = 640, 320, 640
GIF_MIN_SPAN, GIF_MAX_SPAN, GIF_DEFAULT_SPAN = 0.5, 10.0, 5.0
GIF_MIN_FPS, GIF_MAX_FPS, GIF_DEFAULT_FPS = 1, 30, 15
TILE_WIDTH, TILE_COLUMNS, MAX_TILES = 160, 10, 100
RUN_TIMEOUT = 30
# Images made at once by one process; a request waits this long for a turn, then 503.
CONCURRENT_RENDERS = 2
RENDER_WAIT_SECONDS = 10
# Bump when the way an image is made changes, so cached images are made afresh.
RECIPE = 1

CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}
_SEGMENT_NAME = re.compile(r"^(init(_\d{1,3})?\.mp4|seg_\d{5,9}\.m4s)$")
_slots = threading.BoundedSemaphore(CONCURRENT_RENDERS)


class Busy(DomainError):
    code = "images_busy"
    status = 503
    title = "Busy"


class RenderFailed(DomainError):
    code = "image_failed"
    status = 500
    title = "The image could not be made"


def _invalid(name: str, detail: str) -> ValidationFailed:
    return ValidationFailed(detail, code="invalid_parameter", errors={name: [detail]})


# ---- parameters -------------------------------------------------------------------

def _number(query: Mapping[str, str], name: str, *, low: float, high: float, integer: bool = False,
            unit: str = "") -> float | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    span = f"{low:g} to {high:g}{unit}"
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise _invalid(name, f"{name} must be {'a whole number' if integer else 'a number'} "
                             f"from {span}.") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise _invalid(name, f"{name} must be from {span}; got {raw}.")
    return value


def _tenth(value: float) -> float:
    # A tenth of a second is finer than anyone can tell on a still, and keeps the
    # number of distinct cached images down.
    return round(value, 1)


def _videos(asset: Asset) -> list[Rendition]:
    found = sorted((r for r in asset.renditions.all() if r.kind == Rendition.Kind.VIDEO and r.width),
                   key=lambda r: (r.width * r.height, r.name))
    if not found:
        raise NotFound("The asset has no video.")
    return found


def choose_rendition(renditions: list[Rendition], width: int, height: int) -> Rendition:
    """The smallest rendition at least width x height, else the largest."""
    for rendition in renditions:
        if rendition.width >= width and rendition.height >= height:
            return rendition
    return renditions[-1]


@dataclass(frozen=True)
class Thumbnail:
    rendition: Rendition
    time: float
    width: int  # of the image
    height: int
    fit_mode: str
    format: str

    kind = "thumbnail"

    def key(self) -> str:
        return f"{self.rendition.name}|{self.time}|{self.width}x{self.height}|{self.fit_mode}"


def thumbnail_request(asset: Asset, query: Mapping[str, str], fmt: str) -> Thumbnail:
    """Parameters in range, or ValidationFailed naming the one that is not.

    The picture is never enlarged past the largest rendition: a larger request gets
    that size (for crop and pad, the requested box scaled down, keeping its shape).
    crop and pad need both width and height; with one of them they act as preserve.
    """
    duration = float(asset.duration or 0)
    time = _number(query, "time", low=0, high=round(duration, 3), unit=" seconds")
    width = _number(query, "width", low=MIN_SIZE, high=MAX_SIZE, integer=True, unit=" pixels")
    height = _number(query, "height", low=MIN_SIZE, high=MAX_SIZE, integer=True, unit=" pixels")
    fit_mode = query.get("fit_mode") or "preserve"
    if fit_mode == "smartcrop":
        raise _invalid("fit_mode", "fit_mode=smartcrop is not supported; use crop (centred).")
    if fit_mode not in FIT_MODES:
        raise _invalid("fit_mode", f"fit_mode must be one of {', '.join(FIT_MODES)}.")
    if time is None:
        time = min(duration / 2, 5.0)  # where the poster is taken
    renditions = _videos(asset)
    top = renditions[-1]
    if fit_mode != "preserve" and width and height:
        factor = (max if fit_mode == "crop" else min)(width / top.width, height / top.height)
        if factor > 1:
            width, height = max(1, round(width / factor)), max(1, round(height / factor))
            factor = 1.0
        picture = (math.ceil(top.width * factor), math.ceil(top.height * factor))
        size = (int(width), int(height))
    else:
        fit_mode = "preserve"
        limits = [1.0, MAX_SIZE / top.width, MAX_SIZE / top.height]
        if width:
            limits.append(width / top.width)
        if height:
            limits.append(height / top.height)
        factor = min(limits)
        size = picture = (max(1, round(top.width * factor)), max(1, round(top.height * factor)))
    return Thumbnail(rendition=choose_rendition(renditions, *picture), time=_tenth(time),
                     width=size[0], height=size[1], fit_mode=fit_mode, format=fmt)


@dataclass(frozen=True)
class Gif:
    rendition: Rendition
    start: float
    end: float
    width: int
    height: int
    fps: int

    kind = "animated"
    format = "gif"

    def key(self) -> str:
        return f"{self.rendition.name}|{self.start}-{self.end}|{self.width}x{self.height}|{self.fps}"


def gif_request(asset: Asset, query: Mapping[str, str]) -> Gif:
    duration = round(float(asset.duration or 0), 3)
    start = _number(query, "start", low=0, high=duration, unit=" seconds")
    end = _number(query, "end", low=0, high=duration, unit=" seconds")
    width = _number(query, "width", low=MIN_SIZE, high=GIF_MAX_WIDTH, integer=True, unit=" pixels")
    fps = _number(query, "fps", low=GIF_MIN_FPS, high=GIF_MAX_FPS, integer=True, unit=" frames per second")
    if start is None and end is None:
        start, end = 0.0, min(GIF_DEFAULT_SPAN, duration)
    elif end is None:
        end = min(start + GIF_DEFAULT_SPAN, duration)
    elif start is None:
        start = max(0.0, end - GIF_DEFAULT_SPAN)
    start, end = _tenth(start), _tenth(end)
    if not GIF_MIN_SPAN <= end - start <= GIF_MAX_SPAN:
        raise _invalid("end", f"end must be {GIF_MIN_SPAN:g} to {GIF_MAX_SPAN:g} seconds after start "
                              f"(start={start:g}, end={end:g}).")
    renditions = _videos(asset)
    top = renditions[-1]
    factor = min(1.0, (width or GIF_DEFAULT_WIDTH) / top.width, GIF_MAX_HEIGHT / top.height)
    size = (max(1, round(top.width * factor)), max(1, round(top.height * factor)))
    return Gif(rendition=choose_rendition(renditions, *size), start=start, end=end,
               width=size[0], height=size[1], fps=int(fps or GIF_DEFAULT_FPS))


@dataclass(frozen=True)
class Storyboard:
    """One tile every `interval` seconds, in rows of up to TILE_COLUMNS, at most
    MAX_TILES in all, from the smallest rendition."""

    rendition: Rendition
    duration: float
    interval: int
    count: int
    tile_width: int
    tile_height: int

    kind = "storyboard"
    format = "jpg"

    @property
    def columns(self) -> int:
        return min(TILE_COLUMNS, self.count)

    @property
    def rows(self) -> int:
        return math.ceil(self.count / self.columns)

    def key(self) -> str:
        return (f"{self.rendition.name}|{self.interval}|{self.count}|"
                f"{self.tile_width}x{self.tile_height}|{self.columns}")

    def cues(self) -> list[tuple[float, float, int, int]]:
        """(start, end, x, y) of each tile."""
        return [(i * self.interval, min((i + 1) * self.interval, self.duration),
                 (i % self.columns) * self.tile_width, (i // self.columns) * self.tile_height)
                for i in range(self.count)]


def storyboard_layout(asset: Asset) -> Storyboard:
    duration = max(float(asset.duration or 0), 0.001)
    smallest = _videos(asset)[0]
    interval = max(1, math.ceil(duration / MAX_TILES))
    width = min(TILE_WIDTH, smallest.width)
    return Storyboard(rendition=smallest, duration=round(duration, 3), interval=interval,
                      count=max(1, math.ceil(duration / interval)), tile_width=width,
                      tile_height=max(1, round(smallest.height * width / smallest.width)))


# ---- the cache ----------------------------------------------------------------------

def cache_name(asset: Asset, spec: Thumbnail | Gif | Storyboard) -> str:
    digest = hashlib.sha256(f"{RECIPE}|{spec.kind}|{spec.key()}".encode()).hexdigest()[:16]
    return f"{asset.media_prefix}/images/{spec.kind}-{digest}.{spec.format}"


@dataclass(frozen=True)
class Image:
    content_type: str
    name: str  # in storage
    data: bytes | None = None  # when just made; else read it from storage


def image_for(asset: Asset, spec: Thumbnail | Gif | Storyboard) -> Image:
    """The cached image, or a new one made now and stored for the next request."""
    name = cache_name(asset, spec)
    storage = media_storage()
    content_type = CONTENT_TYPES[spec.format]
    if storage.exists(name):
        return Image(content_type, name)
    if not _slots.acquire(timeout=RENDER_WAIT_SECONDS):
        raise Busy("Too many images are being made right now; try again shortly.")
    try:
        data = _render(asset, spec)
    finally:
        _slots.release()
    # Two identical requests at once may both get here; local storage would keep the
    # second under another name, so only the first is stored.
    if not storage.exists(name):
        storage.save(name, ContentFile(data))
    return Image(content_type, name, data)


# ---- making images ------------------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    name: str
    start: float
    duration: float


def read_playlist(asset: Asset, rendition: Rendition) -> tuple[str, list[Segment]]:
    """The init segment's storage name and the segments, with their start times."""
    base = f"{asset.media_prefix}/{rendition.name}"
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
            if not _SEGMENT_NAME.match(line):
                raise NotFound("The rendition's playlist names an unexpected file.")
            segments.append(Segment(f"{base}/{line}", start, length))
            start, length = start + length, None
    if not init or not _SEGMENT_NAME.match(init) or not segments:
        raise NotFound("The rendition's playlist has no segments.")
    return f"{base}/{init}", segments


def segment_at(segments: list[Segment], t: float) -> int:
    index = 0
    for i, segment in enumerate(segments):
        if segment.start <= t:
            index = i
    return index


def _join(init: str, segments: list[Segment], target: Path) -> None:
    storage = media_storage()
    with open(target, "wb") as out:
        for name in [init, *(s.name for s in segments)]:
            try:
                with storage.open(name, "rb") as src:
                    shutil.copyfileobj(src, out, CHUNK)
            except FileNotFoundError:
                raise NotFound("A segment of the rendition is missing.") from None


def _ffmpeg(inputs: list[tuple[list[str], Path]], output_args: list[str], target: Path) -> None:
    """One FFmpeg run; every input is read under the whitelists."""
    args = [settings.FFMPEG_BIN, "-nostdin", "-hide_banner", "-loglevel", "error"]
    for options, path in inputs:
        args += [*options, "-protocol_whitelist", ffmpeg.PROTOCOL_WHITELIST,
                 "-format_whitelist", ffmpeg.FORMAT_WHITELIST, "-i", str(path)]
    args += ["-an", "-sn", "-dn", *output_args, str(target), "-y"]
    try:
        ffmpeg.run(args, timeout=RUN_TIMEOUT)
    except ffmpeg.FFmpegError as exc:
        raise RenderFailed(f"FFmpeg could not make the image: {exc}") from exc


def _made(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


def _render(asset: Asset, spec: Thumbnail | Gif | Storyboard) -> bytes:
    settings.PROCESSING_TMP_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="img-", dir=settings.PROCESSING_TMP_DIR) as tmp:
        work = Path(tmp)
        init, segments = read_playlist(asset, spec.rendition)
        target = work / f"out.{spec.format}"
        if isinstance(spec, Thumbnail):
            _thumbnail(spec, init, segments, work, target)
        elif isinstance(spec, Gif):
            _gif(spec, init, segments, work, target)
        else:
            _sprite(spec, init, segments, work, target)
        if not _made(target):
            raise RenderFailed("FFmpeg made no image.")
        return target.read_bytes()


def _thumbnail(spec: Thumbnail, init: str, segments: list[Segment], work: Path, target: Path) -> None:
    segment = segments[segment_at(segments, spec.time)]
    source = work / "input.mp4"
    _join(init, [segment], source)
    w, h = spec.width, spec.height
    scale = {
        "preserve": f"scale={w}:{h}",
        "crop": f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}",
        "pad": f"scale={w}:{h}:force_original_aspect_ratio=decrease,"
               f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black",
    }[spec.fit_mode] + ",setsar=1"
    codec = ["-c:v", "png"] if spec.format == "png" else ["-q:v", "3"]
    # -ss on the input counts from the file's first timestamp, which is the segment's.
    offset = max(0.0, spec.time - segment.start)
    output = ["-map", "0:v:0", "-vf", scale, *codec, "-f", "image2", "-update", "1"]
    _ffmpeg([(["-ss", f"{offset:.3f}"], source)], [*output, "-frames:v", "1"], target)
    if not _made(target):
        # At (or just before) the very end there is no frame left after the seek:
        # take the segment's last frame instead.
        _ffmpeg([([], source)], output, target)


def _gif(spec: Gif, init: str, segments: list[Segment], work: Path, target: Path) -> None:
    first, last = segment_at(segments, spec.start), segment_at(segments, spec.end)
    source = work / "input.mp4"
    _join(init, segments[first:last + 1], source)
    offset = max(0.0, spec.start - segments[first].start)
    window = ["-ss", f"{offset:.3f}", "-t", f"{spec.end - spec.start:.3f}"]
    frames = f"fps={spec.fps},scale={spec.width}:{spec.height}:flags=lanczos,setsar=1"
    # One palette for the whole GIF. In one filter graph (split, palettegen, paletteuse)
    # every frame waits in memory until the palette is known: 0.8 GB at 640x640 for
    # 10 s. Two passes stream instead: the first finds the palette, the second uses it
    # (read first, so no frame waits for it). The palette is kept in Matroska so it is
    # read back under the same whitelists.
    palette = work / "palette.mkv"
    _ffmpeg([(window, source)], ["-map", "0:v:0", "-vf", f"{frames},palettegen=stats_mode=diff",
                                 "-c:v", "png", "-f", "matroska"], palette)
    _ffmpeg([([], palette), (window, source)],
            ["-filter_complex", f"[1:v:0]{frames}[x];"
                                f"[x][0:v:0]paletteuse=dither=bayer:bayer_scale=5:diff_mode=rectangle",
             "-f", "gif", "-loop", "0"], target)


def _sprite(spec: Storyboard, init: str, segments: list[Segment], work: Path, target: Path) -> None:
    # Only the segments that hold a tile's time: at most MAX_TILES of them, however
    # long the video; the gaps between them hold no tile's time.
    wanted = sorted({segment_at(segments, cue[0]) for cue in spec.cues()})
    source = work / "input.mp4"
    _join(init, [segments[i] for i in wanted], source)
    if spec.interval >= 2:
        # Keyframes (every 2 s) are close enough at this spacing, and decoding only
        # them keeps an hour-long video's sprite as quick as a short one's: each tile
        # gets the keyframe nearest its time.
        skip, rounding = ["-skip_frame", "nokey"], "near"
    else:
        # Every frame is decoded: each tile gets the frame shown at its time.
        skip, rounding = [], "up"
    # The last tile's time may lie after the last decoded frame, where fps would stop:
    # holding that frame for one more interval fills it.
    graph = (f"tpad=stop_mode=clone:stop_duration={spec.interval},"
             f"fps=fps=1/{spec.interval}:start_time=0:round={rounding},"
             f"scale={spec.tile_width}:{spec.tile_height},setsar=1,"
             f"tile={spec.columns}x{spec.rows}")
    _ffmpeg([(skip, source)], ["-map", "0:v:0", "-vf", graph, "-frames:v", "1", "-q:v", "4",
                               "-f", "image2", "-update", "1"], target)
