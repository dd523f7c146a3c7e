"""Counters of refused playback requests by reason, shared by every process through the
cache (local memory on one machine, Redis when REDIS_URL is set)."""

from __future__ import annotations

from django.core.cache import cache

REASONS = ("missing", "malformed", "algorithm", "unknown_key", "expired", "not_yet_valid",
           "audience", "claims", "signature", "subject", "path_token", "origin")
_KEY = "playback:refusals:{}"


def count_refusal(reason: str) -> None:
    key = _KEY.format(reason)
    if not cache.add(key, 1, timeout=None):
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.add(key, 1, timeout=None)


def refusal_counts() -> dict[str, int]:
    found = cache.get_many([_KEY.format(r) for r in REASONS])
    return {r: int(found.get(_KEY.format(r), 0)) for r in REASONS}
