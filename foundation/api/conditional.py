"""ETag and If-None-Match on the API's reads: a poller that has the document already
gets 304 Not Modified, with no body.

The tag is a hash of the rendered body. It is right whatever changed the document (the
object's row, a rendition, a playback ID, a job's progress, the time a live stream has
been up) and needs no version kept anywhere; the read still runs, but nothing is sent.
"""

from __future__ import annotations

import hashlib

from django.http import HttpResponseNotModified
from django.utils.http import parse_etags

# Headers that describe a body: a 304 has none.
_BODY_HEADERS = frozenset({"content-type", "content-length", "content-language"})


def etag_of(body: bytes) -> str:
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def _matches(if_none_match: str, etag: str) -> bool:
    # If-None-Match compares weakly (RFC 9110, 13.1.2): a W/ prefix does not count.
    tags = parse_etags(if_none_match)
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


def answer(request, response):
    """`response` with its ETag, or 304 if the caller's If-None-Match names it."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    if getattr(response, "streaming", False):
        return response
    if hasattr(response, "render"):
        response.render()
    etag = etag_of(response.content)
    response["ETag"] = etag
    if_none_match = request.headers.get("If-None-Match")
    if not if_none_match or not _matches(if_none_match, etag):
        return response
    not_modified = HttpResponseNotModified()
    for name, value in response.items():
        if name.lower() not in _BODY_HEADERS:
            not_modified[name] = value
    return not_modified
