"""Making images with FFmpeg from the renditions, and keeping them in storage."""

from __future__ import annotations

import hashlib
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile

from foundation.usage import services as usage
from foundation.usage.models import StorageKind
from media_core import ffmpeg
from media_core.models import Asset, Rendition
from media_core.processing.segments import Segment
from media_core.processing.segments import join as join_segments
from media_core.processing.segments import read_playlist as read_stored_playlist
from media_core.storage import media_storage

from .specs import CONTENT_TYPES, Busy, Gif, RenderFailed, Storyboard, Thumbnail

RUN_TIMEOUT = 30
# Images made at once by one process; a request waits this long for a turn, then 503.
CONCURRENT_RENDERS = 2
RENDER_WAIT_SECONDS = 10
# Bump when the way an image is made changes, so cached images are made afresh.
RECIPE = 1
_slots = threading.BoundedSemaphore(CONCURRENT_RENDERS)

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
        stored = storage.save(name, ContentFile(data))
        usage.storage_stored(environment_id=asset.environment_id, kind=StorageKind.IMAGES,
                             name=stored, size=len(data))
    return Image(content_type, name, data)


# ---- making images ------------------------------------------------------------------

def read_playlist(asset: Asset, rendition: Rendition) -> tuple[str, list[Segment]]:
    """The init segment's storage name and the segments, with their start times."""
    return read_stored_playlist(asset.media_prefix, rendition.name)


def segment_at(segments: list[Segment], t: float) -> int:
    index = 0
    for i, segment in enumerate(segments):
        if segment.start <= t:
            index = i
    return index


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
    join_segments(init, [segment], source)
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
    join_segments(init, segments[first:last + 1], source)
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
    join_segments(init, [segments[i] for i in wanted], source)
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
