"""Playback sources: what a playback ID plays when it is not an asset's.

A playback ID belongs to an asset, or to an object of a higher layer that registered a
source here (a live stream: live/delivery.py). Playback checks the playback ID, its
policy and its token, and the path tokens of child URLs, the same way for every source;
the source answers the master playlist, its child files and what the embed page shows.
Playback never reads the source's models, fields or settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.http import HttpResponse

from foundation.api.problems import problem_response
from media_core.models import PlaybackID


@dataclass(frozen=True)
class Denied:
    """Why a viewer may not have something: as a problem document, or as a sentence
    for the embed page."""

    status: int
    code: str
    detail: str
    viewer_message: str
    retry_after: int | None = None

    def response(self) -> HttpResponse:
        titles = {403: "Forbidden", 404: "Not found", 412: "Not playable yet",
                  429: "Too many requests"}
        return self.headers(problem_response(status=self.status, code=self.code,
                                             title=titles.get(self.status, "Unavailable"),
                                             detail=self.detail))

    def headers(self, response: HttpResponse) -> HttpResponse:
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        return response


NOT_FOUND = Denied(404, "not_found", "No such playback ID or file.", "This video does not exist.")

CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mp4": "video/mp4",
                 ".m4s": "video/iso.segment", ".jpg": "image/jpeg", ".ts": "video/mp2t",
                 ".vtt": "text/vtt; charset=utf-8"}


def cache_headers(response: HttpResponse, *, max_age: int, private: bool = False) -> HttpResponse:
    """CORS for players on any page, and how long caches may keep the answer (a signed
    playback ID's answers are personal: shared caches must not hand them on)."""
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = f"{'private' if private else 'public'}, max-age={max_age}"
    return response


@dataclass(frozen=True)
class EmbedPage:
    """What the embed page shows for a source."""

    title: str
    live: bool = False
    low_latency: bool = False


class Source(Protocol):
    # PlaybackID.source_type of the playback IDs it serves, e.g. "live_stream".
    source_type: str
    # The first part of its child URLs' prefix (/v/{pbk}/s/{exp}/{sig}/{child_root}/…).
    child_root: str

    def find(self, playback_id: PlaybackID) -> Any | None:
        """The object the playback ID plays, or None if it is gone (answered 404). Read
        once and handed to the calls below."""

    def master(self, playback_id: PlaybackID, obj: Any) -> HttpResponse | Denied:
        """The master playlist, its child URLs signed with playback/path_tokens.py."""

    def split_child(self, parts: list[str]) -> tuple[str, str] | None:
        """(the signed prefix, the file) of a child path, or None if it names nothing."""

    def child(self, playback_id: PlaybackID, obj: Any, prefix: str, filename: str, *,
              base: str) -> HttpResponse | Denied:
        """A child file whose path token was found valid; `base` is the folder it was
        asked in, token included (`/v/{id}/s/{expires}/{signature}/{prefix}`)."""

    def embed(self, playback_id: PlaybackID, obj: Any) -> EmbedPage:
        """What the embed page shows."""


_sources: dict[str, Source] = {}


def register(source: Source) -> None:
    """Called by the app that owns the source, from its AppConfig.ready()."""
    if source.source_type in _sources and _sources[source.source_type] is not source:
        raise ValueError(f"a playback source for {source.source_type!r} is registered already")
    _sources[source.source_type] = source


def source_of(playback_id: PlaybackID) -> Source | None:
    return _sources.get(playback_id.source_type) if playback_id.source_type else None


def source_for_child(root: str) -> Source | None:
    return next((s for s in _sources.values() if s.child_root == root), None)

