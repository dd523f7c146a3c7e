"""Representations built once per change: an object's document (the API's JSON of an
asset, what a master playlist is written from) is kept in the memory of each process
and checked on every read against the object's version in the shared cache.

A version is a random token, stored in the cache under the object's kind and id. Every
change to what a document shows writes a new token (`changed`), so the next read in
any process finds its copy's token different and builds the document again from the
database. A read needs only the token (one GET, or a few keys in one MGET beside what
the request reads anyway); the document itself stays in the process.

How a change is never missed, whatever a concurrent read is doing:

- `changed` writes a new token at once and again after the transaction commits. A read
  between the two sees the first token, but may build from the database as it was
  before the commit; the second token makes that copy stale. A read after the commit
  builds from the committed rows. (Inside a test's transaction, which never commits,
  the first write is the one that counts.)
- A read that finds no token (new object, or the cache lost it) writes one with add(),
  which never replaces a token a writer set meanwhile, and builds under whichever token
  the cache then holds; a copy made under a token that has since changed is never used.
- Tokens are random, not counters: a token lost from the cache and written again can
  never match a copy made before.

Only a cache every process shares (Redis, REDIS_URL) can carry versions between the
web processes and the workers that change objects, so with the embedded locmem cache
documents are built on every read (API_DOCUMENT_CACHE=auto). `on` uses the cache even
when it is process-local (one process: tests), `off` never.

If writing a token fails (the cache is unreachable), the change still commits and the
failure is logged; reads fail over to the database while the cache is down. A copy is
dropped after LOCAL_SECONDS at the latest, whatever its token, and at most
API_DOCUMENT_CACHE_ENTRIES documents are kept per process (least recently used go).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache
from django.db import transaction

log = logging.getLogger("kino.documents")

VERSION_SECONDS = 7 * 24 * 3600
LOCAL_SECONDS = 3600

_lock = threading.Lock()
# (kind, id) -> (token, stored at, document)
_local: OrderedDict[tuple[str, str], tuple[str, float, object]] = OrderedDict()


def enabled() -> bool:
    mode = getattr(settings, "API_DOCUMENT_CACHE", "auto")
    if mode == "on":
        return True
    if mode == "off":
        return False
    # The configured backend's name: cheaper than asking the (thread-local) cache object.
    return "RedisCache" in settings.CACHES[DEFAULT_CACHE_ALIAS]["BACKEND"]


def version_key(kind: str, object_id: str) -> str:
    return f"doc-version:{kind}:{object_id}"


def _new_token() -> str:
    return secrets.token_hex(8)


def changed(kind: str, object_ids: Iterable[str]) -> None:
    """Everything shown of these objects may have changed: new versions now and once
    the current transaction commits (see the module's docstring)."""
    ids = sorted({object_id for object_id in object_ids if object_id})
    if not ids or not enabled():
        return
    _write_versions(kind, ids)
    transaction.on_commit(lambda: _write_versions(kind, ids))


def _write_versions(kind: str, ids: list[str]) -> None:
    with _lock:
        for object_id in ids:
            _local.pop((kind, object_id), None)
    try:
        cache.set_many({version_key(kind, object_id): _new_token() for object_id in ids},
                       VERSION_SECONDS)
    except Exception:  # noqa: BLE001 - a change must commit even when the cache is down
        log.exception("could not write new versions of %s %s", kind, ", ".join(ids))


def versions(kind: str, object_ids: list[str], found: dict | None = None) -> dict[str, str]:
    """The current token of each object, writing one for any that has none. `found`: the
    result of a get_many that already read some of the version keys."""
    keys = {object_id: version_key(kind, object_id) for object_id in object_ids}
    if found is None or any(key not in found for key in keys.values()):
        found = {**(found or {}), **cache.get_many(list(keys.values()))}
    tokens = {}
    for object_id, key in keys.items():
        token = found.get(key)
        if token is None:
            token = _new_token()
            if not cache.add(key, token, VERSION_SECONDS):
                token = cache.get(key) or ""  # a writer's token, or none: never matched
        tokens[object_id] = token
    return tokens


def get(kind: str, object_id: str, token: str):
    """This process's copy of the document, if it was built under `token`."""
    if not token:
        return None
    entry = _local.get((kind, object_id))
    if entry is None or entry[0] != token or entry[1] < time.monotonic() - LOCAL_SECONDS:
        return None
    with _lock:
        if (kind, object_id) in _local:
            _local.move_to_end((kind, object_id))
    return entry[2]


def put(kind: str, object_id: str, token: str, document) -> None:
    """Keep a document built under `token` (read before the database was)."""
    if not token:
        return
    limit = getattr(settings, "API_DOCUMENT_CACHE_ENTRIES", 20000)
    with _lock:
        _local[(kind, object_id)] = (token, time.monotonic(), document)
        _local.move_to_end((kind, object_id))
        while len(_local) > limit:
            _local.popitem(last=False)


def forget_all() -> None:
    """Drop this process's copies (tests)."""
    with _lock:
        _local.clear()
