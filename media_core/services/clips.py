"""Clips: a new asset cut from `[start, end)` of a ready one, with its own title,
playback policy and publication; the source is untouched. The clip is encoded from the
source's top rung (media_core/processing/clip_source.py), cut to the frame, so it works
on live recordings whose original is gone, and costs a few segments' worth of decoding
plus one ladder encode of the clip's own length."""

from __future__ import annotations

from typing import Any

from foundation.context import Actor
from foundation.errors import Conflict, DomainError
from media_core.models import Asset

from .assets import asset_create

# Shorter clips than this are refused: a player needs a segment's worth to start.
MIN_SECONDS = 0.5


class ClipRangeInvalid(DomainError):
    code = "clip_range_invalid"
    status = 422
    title = "The clip's range is not within the video"


def _refuse(detail: str, field: str) -> ClipRangeInvalid:
    return ClipRangeInvalid(detail, errors={field: [detail]})


def clip_check(source: Asset, start: float, end: float) -> None:
    if source.status != Asset.Status.READY or source.deleted_at:
        raise Conflict(f"Only a ready asset can be clipped; this one is {source.status}.",
                       code="asset_not_ready")
    duration = float(source.duration or 0)
    if start < 0:
        raise _refuse("start must be 0 or more (seconds).", "start")
    if end <= start:
        raise _refuse(f"end ({end:g}) must be after start ({start:g}).", "end")
    if end > duration + 0.001:
        raise _refuse(f"end ({end:g}) is past the end of the video ({duration:g} s).", "end")
    if end - start < MIN_SECONDS:
        raise _refuse(f"A clip lasts at least {MIN_SECONDS:g} s.", "end")


def clip_create(*, source: Asset, actor: Actor, start: float, end: float,
                settings: dict[str, Any]) -> Asset:
    """A new asset (preparing) cut from `source`; processing starts when the transaction
    commits. `settings`: as new_asset_settings (title, playback_policy, publish, ...)."""
    clip_check(source, start, end)
    return asset_create(environment_id=source.environment_id, actor=actor, settings=settings,
                        clip_of=(source.id, round(start, 3), round(min(end, source.duration), 3)))
