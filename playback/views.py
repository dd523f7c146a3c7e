"""Viewer-facing delivery: master playlist, child playlists and segments, embed (images: image_views.py).

No API key. The master playlist is always answered here, after the playback ID, its
policy and token are checked; every URL inside it carries a short-lived path token
(playback/path_tokens.py), so media playlists and segments play without the caller
adding anything, and nginx can serve them in production with no call back to us.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from foundation import credential_failures, documents
from foundation.api.problems import problem_response
from media_core.models import Asset, PlaybackID, Rendition, TextTrack
from media_core.models.changes import KIND as ASSET_KIND
from media_core.models.tracks import text_folder
from media_core.selectors import asset_is_audio_only
from media_core.services import publication
from media_core.storage import media_storage

from . import path_tokens, sources, tokens
from .hls import master_playlist
from .metrics import count_refusal
from .sources import CONTENT_TYPES as _CONTENT_TYPES
from .sources import NOT_FOUND, Denied
from .sources import cache_headers as _headers

_FILE_RE = re.compile(r"^(index\.m3u8|init(_\d{1,3})?\.mp4|seg_\d{5,9}\.m4s)$")
_PREFIX_RE = re.compile(r"^assets/ast_[0-9a-z]{26}/job_[0-9a-z]{26}-\d{1,3}$")
_RENDITION_RE = re.compile(r"^[a-z0-9]{1,16}$")
# A text track's playlist and WebVTT file, in the asset's text folder.
_TEXT_PREFIX_RE = re.compile(r"^assets/ast_[0-9a-z]{26}/text$")
_TEXT_FILE_RE = re.compile(r"^(trk_[0-9a-z]{26})\.(m3u8|vtt)$")
# Child URLs outlive the token that opened the master by the video's length plus this,
# so a viewer who started in time can finish; never more than path_tokens.MAX_SECONDS
# (a day), which is as far ahead as a path token may reach.
CHILD_GRACE_SECONDS = 600


ORIGIN_DENIED = Denied(403, "origin_not_allowed", "This video may not be played on this site.",
                       "This video may not be played on this site.")


def origin_allowed(request, allowed: list[str]) -> bool:
    """The requesting page's origin (Origin, else Referer) is one the asset allows.

    Our own pages (the embed player) count as allowed: the embed page itself is checked
    against the page that frames it. Without either header a restricted asset refuses:
    a browser always sends one of them for media and frames.
    """
    if not allowed:
        return True
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    try:
        parts = urlsplit(source)
    except ValueError:  # e.g. "http://[x": no page of any origin
        return False
    if not parts.scheme or not parts.hostname:
        return False
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if origin == settings.PUBLIC_BASE_URL.lower():
        return True
    for pattern in allowed:
        if origin == pattern:
            return True
        if "://*." in pattern:
            scheme, _, suffix = pattern.partition("://*.")
            if parts.scheme == scheme and origin.endswith("." + suffix):
                return True
    return False


def _check_token(request, found: PlaybackID, audience: str, token: str | None):
    """(grant expiry or None, None) or (None, Denied) for a signed playback ID."""
    if found.policy != PlaybackID.Policy.SIGNED:
        return None, None
    token = token if token is not None else request.GET.get("token")
    # Before the token is looked at: an address that failed too often waits, good token or not.
    if token and (refused := credential_failures.refusal(request)) is not None:
        return None, Denied(429, refused.code, refused.detail,
                            "Too many failed attempts from your network; try again later.",
                            retry_after=refused.retry_after)
    grant = tokens.check(token, playback_id=found, audience=audience)
    if isinstance(grant, tokens.Refusal):
        if grant.forged:
            credential_failures.record(request)
        return None, Denied(403, f"token_{grant.reason}", grant.detail, "This video is private.")
    return grant.expires_at, None


_LOOK_IT_UP = object()


def authorise(request, playback_id: str, audience: str, token: str | None = None, *,
              found=_LOOK_IT_UP):
    """((playback ID, asset, grant expiry or None), None), or (None, why it is denied).

    `found`: the playback ID with its asset when the caller has read it already (or None).
    """
    if found is _LOOK_IT_UP:
        found = find_playback_id(playback_id)
    if found is None or found.asset is None or found.asset.deleted_at:
        return None, NOT_FOUND
    # Not published (a draft, unpublished, scheduled for later): nothing to see here,
    # whatever the policy or the token.
    if not publication.visible(found.asset):
        return None, NOT_FOUND
    if not origin_allowed(request, found.asset.allowed_origins):
        count_refusal("origin")
        return None, ORIGIN_DENIED
    expires, denied = _check_token(request, found, audience, token)
    if denied:
        return None, denied
    if found.asset.status != Asset.Status.READY:
        preparing = found.asset.status == Asset.Status.PREPARING
        return None, Denied(412 if preparing else 404, "asset_not_ready",
                            f"The asset is {found.asset.status}.",
                            "This video is still being prepared." if preparing
                            else "This video is unavailable.")
    return (found, found.asset, expires), None


def find_playback_id(playback_id: str) -> PlaybackID | None:
    """The playback ID with its asset, if it has one: one query for either kind."""
    return PlaybackID.objects.select_related("asset").filter(pk=playback_id).first()


_PLAYBACK_ID_COLUMNS = [f.attname for f in PlaybackID._meta.concrete_fields]
_ASSET_COLUMNS = [f.attname for f in Asset._meta.concrete_fields]
_RENDITION_COLUMNS = [f.attname for f in Rendition._meta.concrete_fields]
_TEXT_TRACK_COLUMNS = [f.attname for f in TextTrack._meta.concrete_fields]


def _find_for_master(playback_id: str) -> tuple[PlaybackID | None, list[Rendition],
                                                  list[TextTrack]]:
    """The playback ID with its asset, if it has one, the asset's renditions and its ready
    text tracks: one query for what the master playlist is written from. Its outer joins
    give a row per rendition and text track (a few of each), or a single row whose columns
    for either are null (an asset without any yet, or a playback ID of another source)."""
    rows = list(PlaybackID.objects.filter(pk=playback_id)
                .order_by("asset__renditions__kind", "-asset__renditions__height",
                          "asset__text_tracks__id")
                .values_list(*_PLAYBACK_ID_COLUMNS,
                             *(f"asset__{name}" for name in _ASSET_COLUMNS),
                             *(f"asset__renditions__{name}" for name in _RENDITION_COLUMNS),
                             *(f"asset__text_tracks__{name}" for name in _TEXT_TRACK_COLUMNS)))
    if not rows:
        return None, [], []
    db = PlaybackID.objects.db
    asset_at = len(_PLAYBACK_ID_COLUMNS)
    rendition_at = asset_at + len(_ASSET_COLUMNS)
    track_at = rendition_at + len(_RENDITION_COLUMNS)
    found = PlaybackID.from_db(db, _PLAYBACK_ID_COLUMNS, rows[0][:asset_at])
    if found.asset_id is not None:
        found.asset = Asset.from_db(db, _ASSET_COLUMNS, rows[0][asset_at:rendition_at])
    renditions = {row[rendition_at]: Rendition.from_db(db, _RENDITION_COLUMNS,
                                                       row[rendition_at:track_at])
                  for row in rows if row[rendition_at] is not None}
    tracks = {row[track_at]: TextTrack.from_db(db, _TEXT_TRACK_COLUMNS, row[track_at:])
              for row in rows if row[track_at] is not None}
    return (found, list(renditions.values()),
            sorted((t for t in tracks.values() if t.status == TextTrack.Status.READY),
                   key=lambda t: t.id))


def source_playback_id(request, found: PlaybackID | None, token: str | None = None, aud="v"):
    """((playback ID, its source, the source's object), None) for a playback ID of a
    registered source whose token (if signed) is good; (None, None) for an asset's or
    none; (None, Denied) otherwise."""
    if found is None or not found.source_type:
        return None, None
    source = sources.source_of(found)
    obj = source.find(found) if source is not None else None
    if obj is None:
        return None, NOT_FOUND
    _, denied = _check_token(request, found, aud, token)
    if denied:
        return None, denied
    return (found, source, obj), None


# A master playlist of a public playback ID is written from a template kept per process
# under its asset's document version (foundation/documents.py): the signed child bases
# (the renditions', and the text tracks') are the only part that changes from one request
# to the next. Which asset a playback ID plays never changes, so this process remembers it
# once it has read it.
_MASTER_KIND = "master"
_BASE = "\x00"
_TEXT_BASE = "\x01"
_ASSET_OF: dict[str, str] = {}


class _MasterFacts:
    __slots__ = ("allowed_origins", "duration", "growing", "media_prefix",
                 "publication_status", "publish_at", "template", "text_prefix", "unpublish_at")

    def __init__(self, asset: Asset, template: str, text_prefix: str):
        self.allowed_origins = asset.allowed_origins
        self.growing = _growing(asset)
        self.duration = asset.duration
        self.media_prefix = asset.media_prefix
        self.text_prefix = text_prefix
        # Publication turns on times, not only on changes: checked at every request.
        self.publication_status = asset.publication_status
        self.publish_at = asset.publish_at
        self.unpublish_at = asset.unpublish_at
        self.template = template


def _child_expiry(token_expires: int | None, duration: float | None) -> int:
    now = int(time.time())
    return min(max(token_expires or 0, now + int(duration or 0) + CHILD_GRACE_SECONDS),
               now + path_tokens.MAX_SECONDS)


def _growing(asset: Asset) -> bool:  # it plays from its stream copy; its ladder will join
    return asset.renditions_status == Asset.RenditionsStatus.PREPARING


def _master_response(body: str, *, private: bool, growing: bool = False) -> HttpResponse:
    # A signed master is personal: shared caches must not hand it to someone else. One
    # that will gain the ladder is kept briefly: players reading it again (the embed) see it.
    return _headers(HttpResponse(body, content_type=_CONTENT_TYPES[".m3u8"]),
                    max_age=2 if growing else 30, private=private)


@require_safe
def master(request, playback_id: str):
    version = None
    if documents.enabled() and (asset_id := _ASSET_OF.get(playback_id)) is not None:
        version = documents.versions(ASSET_KIND, [asset_id])[asset_id]
        facts = documents.get(_MASTER_KIND, playback_id, version)
        if (facts is not None and publication.visible(facts)
                and origin_allowed(request, facts.allowed_origins)):
            expires = _child_expiry(None, facts.duration)
            body = facts.template.replace(_BASE, path_tokens.child_base(
                playback_id=playback_id, prefix=facts.media_prefix, expires=expires))
            if facts.text_prefix:
                body = body.replace(_TEXT_BASE, path_tokens.child_base(
                    playback_id=playback_id, prefix=facts.text_prefix, expires=expires))
            return _master_response(body, private=False, growing=facts.growing)
    found, renditions, text_tracks = _find_for_master(playback_id)
    sourced, denied = source_playback_id(request, found)
    if denied:
        return denied.response()
    if sourced:
        found, source, obj = sourced
        answer = source.master(found, obj)
        return answer.response() if isinstance(answer, Denied) else answer
    authorised, denied = authorise(request, playback_id, "v", found=found)
    if denied:
        return denied.response()
    found, asset, token_expires = authorised
    public = found.policy == PlaybackID.Policy.PUBLIC
    text_prefix = text_folder(asset.pk) if text_tracks else ""
    if public and documents.enabled():
        if len(_ASSET_OF) >= 100_000:  # a bound on this process's memory, not a cache policy
            _ASSET_OF.clear()
        _ASSET_OF[playback_id] = asset.pk
        # Under the version read before the database was: a change since makes it stale.
        template = master_playlist(asset, _BASE, renditions, text_tracks=text_tracks,
                                   text_base=_TEXT_BASE)
        documents.put(_MASTER_KIND, playback_id, version,
                      _MasterFacts(asset, template, text_prefix))
    expires = _child_expiry(token_expires, asset.duration)
    base = path_tokens.child_base(playback_id=found.id, prefix=asset.media_prefix, expires=expires)
    text_base = (path_tokens.child_base(playback_id=found.id, prefix=text_prefix, expires=expires)
                 if text_prefix else "")
    return _master_response(master_playlist(asset, base, renditions, text_tracks=text_tracks,
                                            text_base=text_base), private=not public,
                            growing=_growing(asset))


@require_safe
def child_file(request, playback_id: str, expires: str, signature: str, path: str):
    parts = path.split("/")
    if (source := sources.source_for_child(parts[0])) is not None:
        return _source_child(request, source, playback_id, expires, signature, parts)
    prefix, name = "/".join(parts[:3]), "/".join(parts[3:])
    if len(parts) == 5:  # a rendition's playlist, init segment or segment
        named = _PREFIX_RE.match(prefix) and _RENDITION_RE.match(parts[3]) and _FILE_RE.match(parts[4])
    else:  # a text track's playlist or WebVTT file
        named = len(parts) == 4 and _TEXT_PREFIX_RE.match(prefix) and _TEXT_FILE_RE.match(name)
    if not named:
        return NOT_FOUND.response()
    if not path_tokens.valid(playback_id=playback_id, prefix=prefix, expires=expires, sig=signature):
        count_refusal("path_token")
        return problem_response(status=403, code="path_token_invalid", title="Forbidden",
                                detail="This link has expired or was altered; reload the video.")
    # The token proves what the master granted; the database says it still stands, so
    # a deleted playback ID or asset stops playing here at once.
    found = PlaybackID.objects.select_related("asset").filter(pk=playback_id).first()
    if (found is None or found.asset is None or found.asset.deleted_at
            or prefix not in (found.asset.media_prefix, text_folder(found.asset_id))
            or not publication.visible(found.asset)):
        return NOT_FOUND.response()
    if prefix != found.asset.media_prefix and not TextTrack.objects.filter(
            pk=name.split(".")[0], asset_id=found.asset_id,
            status=TextTrack.Status.READY).exists():
        return NOT_FOUND.response()  # a removed track stops at once, its files a moment later
    if not origin_allowed(request, found.asset.allowed_origins):
        count_refusal("origin")
        return ORIGIN_DENIED.response()
    return _serve(f"{prefix}/{name}", max_age=2 if name.endswith(".m3u8") else 86400)


def _source_child(request, source, playback_id: str, expires: str, signature: str,
                  parts: list[str]):
    split = source.split_child(parts)
    if split is None:
        return NOT_FOUND.response()
    prefix, filename = split
    if not path_tokens.valid(playback_id=playback_id, prefix=prefix, expires=expires, sig=signature):
        count_refusal("path_token")
        return problem_response(status=403, code="path_token_invalid", title="Forbidden",
                                detail="This link has expired or was altered; reload the video.")
    found = PlaybackID.objects.filter(pk=playback_id, source_type=source.source_type).first()
    obj = source.find(found) if found is not None else None
    if obj is None:
        return NOT_FOUND.response()
    answer = source.child(found, obj, prefix, filename, base=f"/v/{playback_id}/s/{expires}/{signature}/{prefix}")
    return answer.response() if isinstance(answer, Denied) else answer


def _serve(name: str, *, max_age: int, private: bool = False):
    storage = media_storage()
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError:
        return NOT_FOUND.response()
    suffix = name[name.rfind("."):]
    response = FileResponse(handle, content_type=_CONTENT_TYPES.get(suffix, "application/octet-stream"))
    return _headers(response, max_age=max_age, private=private)


@require_safe
@xframe_options_exempt
def embed(request, playback_id: str):
    """A player page for iframes: hls.js (vendored), the poster, the master playlist.

    For a signed playback ID pass `?token=` (aud v) and optionally `?thumbnail_token=`
    (aud t) for the poster.
    """
    token = request.GET.get("token")
    found = find_playback_id(playback_id)
    sourced, denied = source_playback_id(request, found, token)
    if sourced:
        return _source_embed(request, *sourced, token)
    if denied is None:
        authorised, denied = authorise(request, playback_id, "v", token=token, found=found)
    if denied:
        return denied.headers(render(request, "playback/unavailable.html",
                                     {"message": denied.viewer_message}, status=denied.status))
    found, asset, _ = authorised
    signed = found.policy == PlaybackID.Policy.SIGNED
    thumbnail_token, poster = request.GET.get("thumbnail_token"), f"/v/{playback_id}/thumbnail.jpg"
    if signed:
        poster = f"{poster}?token={thumbnail_token}" if thumbnail_token else ""
    return render(request, "playback/embed.html", {
        "title": asset.title,
        "manifest_url": f"/v/{playback_id}.m3u8" + (f"?token={token}" if signed else ""),
        "poster_url": poster,
        "audio_only": asset_is_audio_only(asset_id=asset.id),
        "growing": _growing(asset),  # the embed reads the master again until it has grown
        "autoplay": request.GET.get("autoplay") in ("1", "true"),
        "muted": request.GET.get("muted") in ("1", "true"),
        "chapters": [{**chapter, "clock": _clock(chapter["start"])}
                     for chapter in asset.chapters or []],
    })


def _clock(seconds: float) -> str:
    """1:02:03 or 2:03, as players show times."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _source_embed(request, found: PlaybackID, source, obj, token: str | None):
    page = source.embed(found, obj)
    signed = found.policy == PlaybackID.Policy.SIGNED
    return render(request, "playback/embed.html", {
        "title": page.title,
        "manifest_url": f"/v/{found.id}.m3u8" + (f"?token={token}" if signed else ""),
        "poster_url": "",
        "live": page.live,
        "low_latency": page.low_latency,
        "autoplay": request.GET.get("autoplay") in ("1", "true"),
        "muted": request.GET.get("muted") in ("1", "true"),
    })
