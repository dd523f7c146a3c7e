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

from .render import Image, image_for, read_playlist, segment_at
from .specs import (
    CONTENT_TYPES,
    Busy,
    Gif,
    NoVideo,
    RenderFailed,
    Storyboard,
    Thumbnail,
    choose_rendition,
    gif_request,
    storyboard_layout,
    thumbnail_request,
)

__all__ = ["CONTENT_TYPES", "Busy", "Gif", "Image", "NoVideo", "RenderFailed", "Storyboard", "Thumbnail",
           "choose_rendition", "gif_request", "image_for", "read_playlist", "segment_at",
           "storyboard_layout", "thumbnail_request"]
