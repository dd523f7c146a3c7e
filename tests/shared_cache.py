"""A Redis for the tests of what a cache shared by every process changes.

CI sets REDIS_URL; a laptop without it still runs these tests when a Redis answers on
the default local port, and skips them, saying why, when none does.
"""

from __future__ import annotations

import os

import pytest
import redis

LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    """REDIS_URL, or the local default; skips the test when that Redis does not answer."""
    url = os.environ.get("REDIS_URL") or LOCAL_REDIS
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs a Redis shared by the processes: none answers at {url} "
                    f"(set REDIS_URL, or run one on 127.0.0.1:6379): {exc}")
    finally:
        client.close()
    return url


def redis_cache(url: str, key_prefix: str) -> dict:
    """CACHES as config/settings.py sets it with REDIS_URL, under a prefix of the test's."""
    return {"default": {"BACKEND": "foundation.cache.ReusingRedisCache",
                        "LOCATION": url, "KEY_PREFIX": key_prefix}}
