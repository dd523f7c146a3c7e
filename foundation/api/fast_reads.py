"""The short way through an API read: a GET whose answer is a document built already.

A poller's GET of an asset, or of a page of assets, is answered from the documents kept
by foundation/documents.py, checked in the same round trip to Redis as the API key
(foundation/key_cache.py), the address's failed credentials and, once this process
knows which key a secret is, the key's read budget (limits' scripts, queued by
foundation/api/throttling.py). No DRF request, negotiation or serializer runs.

Whenever any part of that is not plainly so, the view is asked the usual way, which
then answers exactly as it always does: no shared cache, no or a malformed
Authorization header, a key not in the cache or revoked, a missing scope, a key whose
use is due to be recorded, an address refused for failed credentials, an Accept that
is not JSON, an object not found, a bad query parameter. So every error, and every
first request after a change, is the usual path's; the short way only repeats, byte
for byte and header for header, the 200 (or 304) the usual path would send, which
tests/api/test_fast_reads.py compares.

A view opts in with `fast_read(request, environment_id, found, **kwargs)`, returning
the body and its ETag or None, and `fast_read_keys(**kwargs)`, the cache keys it wants
read in the first round trip.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache
from django.http import HttpResponse

from foundation import credential_failures, documents, key_cache
from foundation.context import identify

from . import conditional, throttling

log = logging.getLogger("kino.api")

# SHA-256 of a secret -> its API key's id, learned by this process (never changes).
_key_ids: dict[str, str] = {}

_JSON_TYPES = ("", "*/*", "application/json", "application/*")


def _accepts_json(request) -> bool:
    """Compact JSON is what the caller accepts (not `application/json; indent=2`)."""
    accept = request.META.get("HTTP_ACCEPT", "")
    if accept in _JSON_TYPES:
        return True
    if "indent" in accept:
        return False
    kinds = [part.split(";", 1)[0].strip() for part in accept.split(",")]
    return all(kind in _JSON_TYPES for kind in kinds)


def _secret(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return None
    return secret


def serve(view, request, kwargs: dict) -> HttpResponse | None:
    """The answer by the short way, or None: ask the view the usual way."""
    try:
        return _serve(view, request, kwargs)
    except Exception:  # noqa: BLE001 - the usual way answers, and reports, whatever failed
        log.exception("the short way of %s failed; answered the usual way", request.path)
        return None


def _serve(view, request, kwargs: dict) -> HttpResponse | None:
    if request.method != "GET" or not documents.enabled() or not _accepts_json(request):
        return None
    secret = _secret(request)
    if secret is None:
        return None
    digest = hashlib.sha256(secret.encode()).hexdigest()
    failures_key = credential_failures.cache_key(request)
    wanted = [failures_key, *key_cache.keys(digest), *view.fast_read_keys(**kwargs)]
    key_id = _key_ids.get(digest)
    spent = None
    if key_id is not None and hasattr(cache, "pipeline"):
        # The key's id is known from an earlier request (a secret's key never changes):
        # its read budget is spent in the same round trip as the reads. Whatever follows,
        # the usual way then finds it spent and does not count it again.
        pipe = cache.pipeline()
        cache.queue_get_many(pipe, wanted)
        finish = throttling.queue_key_read(pipe, key_id)
        answers = pipe.execute(raise_on_error=False)
        found = cache.decode_many(wanted, answers[0])
        spent = finish(request, answers[1:]) if finish is not None else None
    else:
        found = cache.get_many(wanted)
    if credential_failures.refusal(request, found.get(failures_key)) is not None:
        return None
    key, use_recorded = key_cache.read_entry(digest, found)
    if not use_recorded or key is None or key is key_cache.MISS:
        return None
    if view.required_scopes.get("GET") not in key["scopes"]:
        return None
    if str(key["id"]) != key_id:
        if len(_key_ids) >= 10_000:  # a bound on this process's memory
            _key_ids.clear()
        _key_ids[digest] = key_id = str(key["id"])
        spent = None
    if spent is False:
        return None  # the usual way answers 429 from the standing kept on the request
    identify(caller=key_id, environment=key["environment_id"])
    answer = view.fast_read(request, key["environment_id"], found, **kwargs)
    if answer is None:
        return None
    body, etag = answer
    # Refused: the usual way finds the budget spent and answers 429.
    if spent is None and not throttling.spend_key_read(request, key_id):
        return None
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    response["Allow"] = ", ".join(view.allowed_methods)  # as DRF adds to the view's answers
    throttling.add_headers(response, request)
    return conditional.answer(request, response)
