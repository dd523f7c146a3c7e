"""What a viewer may ask for: parameters, their ranges, and the image each names."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from foundation.errors import DomainError, ValidationFailed
from media_core.models import Asset, Rendition

FIT_MODES = ("preserve", "crop", "pad")
MIN_SIZE, MAX_SIZE = 16, 1920
GIF_MAX_WIDTH, GIF_DEFAULT_WIDTH, GIF_MAX_HEIGHT = 640, 320, 640
GIF_MIN_SPAN, GIF_MAX_SPAN, GIF_DEFAULT_SPAN = 0.5, 10.0, 5.0
GIF_MIN_FPS, GIF_MAX_FPS, GIF_DEFAULT_FPS = 1, 30, 15
TILE_WIDTH, TILE_COLUMNS, MAX_TILES = 160, 10, 100

CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}


class Busy(DomainError):
    code = "images_busy"
    status = 503
    title = "Busy"


class NoVideo(DomainError):
    """Sound alone: no frame to take a picture from (its poster is its waveform)."""

    code = "no_video"
    status = 404
    title = "This asset has no video"


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
        raise NoVideo("This asset has no video: it is audio only, so there are no frames to "
                      "make thumbnails, animated GIFs or storyboards from. Its poster, "
                      "thumbnail.jpg without parameters, is a picture of its waveform.")
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
    renditions = _videos(asset)
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
    renditions = _videos(asset)
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
