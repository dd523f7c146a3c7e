"""API keys by the SHA-256 of their secret, in the cache every process shares.

Every API request authenticates its key; with an entry here a warm key costs no query.
Only a shared cache (Redis, REDIS_URL) is used: an entry in one process's own memory
(the embedded locmem cache) could not be removed by a revocation made in another
process, so without a shared cache each request reads the key from the database.

An entry holds what a request needs of the key (id, environment id, name, prefix,
scopes), never the secret; a revoked key's entry says so (a tombstone).

How a revocation reaches the next request of every process, whatever a concurrent
request is doing (tenancy.api_key_revoke):

- A request that missed fills the entry with cache.add(), which never overwrites.
- The revocation writes the tombstone after its transaction commits, with cache.set().
  A request that read the key before that commit (so saw it valid) fills either before
  the tombstone is written, which then replaces its entry, or after, when add() finds
  the tombstone and writes nothing. A request that reads after the commit sees the
  revocation. So once api_key_revoke returns, every process refuses the key.
- Not the tombstone before the commit: a rollback would leave a valid key refused.
- The revocation also deletes the entry before its commit. The tombstone alone would
  do; the delete is for when writing the tombstone fails (it is logged, and the commit
  stands): then the warm entry is already gone, so the next request reads the database
  and fills a tombstone itself. Only a fill made from a read between the delete and the
  commit (a few milliseconds) could then survive, for at most ENTRY_SECONDS.

ENTRY_SECONDS bounds that last case, and whatever else might bypass the revocation
(a key changed in the database by hand). A revocation is final, so a tombstone lives
long: a client still sending a revoked key is refused without a query.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import DEFAULT_DB_ALIAS, transaction

from foundation.models import ApiKey

ENTRY_SECONDS = 60
TOMBSTONE_SECONDS = 24 * 3600
_REVOKED = {"revoked": True}
# What a request reads of its key (foundation/api: scopes, environment_id, actor).
_FIELDS = ("id", "environment_id", "name", "prefix", "scopes")


class Miss:
    """No entry: the caller reads the database and fills one."""


MISS = Miss()


def enabled() -> bool:
    """Whether the cache is shared by every process (see the module's docstring).
    API_KEY_CACHE=on uses it even when it is not (one process: tests), off never."""
    mode = getattr(settings, "API_KEY_CACHE", "auto")
    if mode != "auto":
        return mode == "on"
    return isinstance(caches[DEFAULT_CACHE_ALIAS], RedisCache)


def _entry_key(digest: str) -> str:
    return f"api-key:{digest}"


def _used_key(digest: str) -> str:
    return f"api-key-used:{digest}"


def keys(digest: str) -> list[str]:
    """The cache keys read() reads, for a caller that batches them with its own."""
    return [_entry_key(digest), _used_key(digest)]


def read(digest: str, found: dict | None = None) -> tuple[ApiKey | None | Miss, bool]:
    """The key (None: revoked; MISS: no entry) and whether its use was recorded lately,
    in one round trip. `found`: a get_many result of keys(digest) the caller made."""
    if found is None:
        found = cache.get_many(keys(digest))
    entry, used = read_entry(digest, found)
    if entry is None or entry is MISS:
        return entry, used
    return _rebuilt(digest, entry), used


def read_entry(digest: str, found: dict) -> tuple[dict | None | Miss, bool]:
    """As read(), from a get_many result, the entry as cached (id, environment_id, name,
    prefix, scopes) rather than an ApiKey."""
    entry = found.get(_entry_key(digest))
    used = _used_key(digest) in found
    if entry is None:
        return MISS, used
    if entry.get("revoked"):
        return None, used
    return entry, used


def _rebuilt(digest: str, entry: dict) -> ApiKey:
    """An ApiKey as a query would have returned it, without the query. The fields not
    cached (created_at, last_used_at) are deferred and the environment is not joined:
    reading them costs a query, as it would on any instance loaded without them."""
    values = {**{name: entry[name] for name in _FIELDS}, "secret_hash": digest,
              "revoked_at": None}
    present = [f.attname for f in ApiKey._meta.concrete_fields if f.attname in values]
    return ApiKey.from_db(DEFAULT_DB_ALIAS, present, [values[name] for name in present])


def fill(key: ApiKey) -> None:
    """Cache what the database said of a key; never replaces an entry (a tombstone)."""
    if key.revoked_at is not None:
        cache.add(_entry_key(key.secret_hash), _REVOKED, TOMBSTONE_SECONDS)
        return
    cache.add(_entry_key(key.secret_hash),
              {name: getattr(key, name) for name in _FIELDS}, ENTRY_SECONDS)


def use_due(digest: str, *, interval: int) -> bool:
    """True for one request per key and interval, across every process."""
    return cache.add(_used_key(digest), True, interval)


def revoking(digest: str) -> None:
    """Called inside a revocation's transaction: the entry goes now, the tombstone is
    written once the transaction commits (see the module's docstring for both)."""
    if not enabled():
        return
    cache.delete(_entry_key(digest))

    def write_tombstone() -> None:
        mark_revoked(digest)

    # robust: after the commit a failure is logged; the revocation stands.
    transaction.on_commit(write_tombstone, robust=True)


def mark_revoked(digest: str) -> None:
    """Replaces whatever entry a concurrent request left."""
    cache.set(_entry_key(digest), _REVOKED, TOMBSTONE_SECONDS)
