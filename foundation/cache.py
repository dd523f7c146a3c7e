"""Django's Redis cache, with one redis-py client per connection pool.

Django's backend builds a new `redis.Redis` for every cache call, and redis-py fills its
table of response callbacks in the constructor: 0.16 ms each on these machines, more
than the round trip it wraps, and an API request makes several cache calls (rate-limit
windows, failed credentials, the API key). A client holds no connection of its own (the
pool does, and it reconnects after a fork), so one per pool is safe to share between
threads.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _ReusingClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ReusingClient

    # --- one round trip for several readers (foundation/api/fast_reads.py) -------------

    def pipeline(self):
        """A redis-py pipeline (no MULTI) on this cache's server, for a caller that sends
        its reads and other commands (a rate-limit script) in one round trip."""
        return self._cache.get_client(write=True).pipeline(transaction=False)

    def queue_get_many(self, pipe, keys: list[str]) -> None:
        """get_many's MGET, queued on `pipe`; decode_many reads its answer."""
        pipe.mget([self.make_key(key) for key in keys])  # the callers' keys are plain ASCII

    def decode_many(self, keys: list[str], values: list) -> dict:
        loads = self._cache._serializer.loads
        return {key: loads(value) for key, value in zip(keys, values, strict=True)
                if value is not None}
