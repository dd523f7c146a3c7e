"""API request budgets: a sliding window counter per budget, kept by the limits library.

Per API key: reads (GET, HEAD, OPTIONS), writes (every other method), and uploads (a
POST to a view with ``throttle_scope = "uploads"``: new media, which also counts as a
write). Per client address: requests without a key, which only the schema and its
reference page accept (every other view answers 401 before budgets are looked at; bad
keys are counted by foundation/credential_failures.py). Rates are read from settings
(API_RATE_LIMIT_*) when a request arrives, so an operator's shell or a test can change
them. DRF's throttle classes below are the entry points of API views; spend_key_read()
spends the same read budget, under the same keys, for a path that skips DRF.

A budget is two counters, not a list of request times (limits'
SlidingWindowCounterRateLimiter): the requests of the current window and those of the
one before. The count a request is judged by is an estimate: the current window's count
plus the previous window's, weighted by the share of that window still inside the last
period (as if its requests had been spread evenly). It can be off by the unevenness of
the previous window, in either direction; it costs O(1) time and memory whatever the
rate. A change of rate starts new counters (the rate is part of the key).

Storage, one per process, made at its first use and made again in a forked child
(gunicorn's workers): with REDIS_URL, limits' RedisStorage, shared by every process,
under keys "<the cache's KEY_PREFIX>-rl:{<scope>/<key id or address>/<rate>}" (kino-rl
by default); without it, limits' MemoryStorage, each web process counting for itself
(N processes allow N times the rates), its windows aligned to the clock. With Redis a
budget costs one round trip: limits' two Lua scripts in one pipeline, the window's
standing, then the hit (which checks again and counts atomically, so processes racing
for the last request cannot all pass). The headers are worked out from the standing
read before the hit, so requests from several processes at the same instant can each
be told one more remaining than is left; the limit itself holds.

Every answer of an API view tells the budget closest to running out, with the IETF
draft's RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (limits' estimate of
the seconds until the budget has room for one more request); a refusal is 429 with
Retry-After.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from limits import (
    RateLimitItem,
    RateLimitItemPerDay,
    RateLimitItemPerHour,
    RateLimitItemPerMinute,
    RateLimitItemPerSecond,
)
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from redis.exceptions import NoScriptError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from foundation.client_address import client_address, limit_key
from foundation.errors import RateLimited

# The first letter of a rate's period, as DRF (and config.env.env_rate) read it.
_PERIODS: dict[str, type[RateLimitItem]] = {
    "s": RateLimitItemPerSecond, "m": RateLimitItemPerMinute,
    "h": RateLimitItemPerHour, "d": RateLimitItemPerDay,
}


@dataclass(frozen=True)
class Standing:
    """Where a request left one budget."""

    limit: int
    remaining: int
    reset: int
    refusal: str
    # Seconds until a refused request may be retried; None when the request was allowed.
    wait: float | None = None


@dataclass(frozen=True)
class _Kind:
    scope: str
    setting: str
    # "{limit} ... per {period}": what the caller used up, for the 429's detail.
    used_up: str


_READ = _Kind("read", "API_RATE_LIMIT_READ",
              "This API key has made its {limit} read requests per {period}.")
_WRITE = _Kind("write", "API_RATE_LIMIT_WRITE",
               "This API key has made its {limit} write requests per {period}.")
_UPLOADS = _Kind("uploads", "API_RATE_LIMIT_UPLOADS",
                 "This API key has started its {limit} new uploads or imports per {period}.")
_ADDRESS = _Kind("address", "API_RATE_LIMIT_ANONYMOUS",
                 "This address has made its {limit} requests per {period} without an API key.")


# --- storage ----------------------------------------------------------------------

# One limiter per storage the settings name (REDIS_URL and the cache's KEY_PREFIX, or
# none: memory), made at its first use: a change of settings (a test's, an operator
# shell's) is followed, as the rates are, rather than whatever was set at the first use.
_limiters: dict[tuple[str, str], SlidingWindowCounterRateLimiter] = {}
_making = threading.Lock()


def _storage_name() -> tuple[str, str]:
    if not settings.REDIS_URL:
        return ("memory", "")
    prefix = settings.CACHES.get("default", {}).get("KEY_PREFIX") or "kino"
    return (settings.REDIS_URL, f"{prefix}-rl")


def _strategy() -> SlidingWindowCounterRateLimiter:
    name = _storage_name()
    limiter = _limiters.get(name)
    if limiter is None:
        limiter = _made(name)
    return limiter


def _made(name: tuple[str, str]) -> SlidingWindowCounterRateLimiter:
    with _making:
        if name not in _limiters:
            url, prefix = name
            storage = (MemoryStorage() if url == "memory"
                       else RedisStorage(url, key_prefix=prefix))
            _limiters[name] = SlidingWindowCounterRateLimiter(storage)
        return _limiters[name]


class _ReadWindow:
    """A window read already, for limits' own arithmetic (get_window_stats) to run on."""

    def __init__(self, window: tuple[int, float, int, float]):
        self.window = window

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        return self.window

    def acquire_sliding_window_entry(self, *args, **kwargs) -> bool:
        raise AssertionError("a window read already is not counted in")


def _window_keys(storage: RedisStorage, item: RateLimitItem, ident: str) -> list[str]:
    key = item.key_for(ident)
    return [storage.prefixed_key(storage._previous_window_key(key)),
            storage.prefixed_key(storage._current_window_key(key))]


def _queue(pipe, storage: RedisStorage, item: RateLimitItem, ident: str) -> None:
    """limits' two scripts (read the window; check again and count), by their SHA."""
    keys, expiry = _window_keys(storage, item, ident), item.get_expiry()
    pipe.evalsha(storage.lua_sliding_window.sha, 2, *keys, expiry)
    pipe.evalsha(storage.lua_acquire_sliding_window.sha, 2, *keys, item.amount, expiry, 1)


def _answered(item: RateLimitItem, ident: str, window, acquired):
    """(the standing before, whether counted in) from the two scripts' answers."""
    # As RedisStorage.get_sliding_window reads the first script's answer.
    read = ((int(window[0] or 0), max(0, float(window[1] or 0)) / 1000,
             int(window[2] or 0), max(0, float(window[3] or 0)) / 1000)
            if window else (0, 0.0, 0, 0.0))
    arithmetic = SlidingWindowCounterRateLimiter.__new__(SlidingWindowCounterRateLimiter)
    arithmetic.storage = _ReadWindow(read)  # get_window_stats reads only its storage
    return arithmetic.get_window_stats(item, ident), bool(acquired)


def _read_and_hit(limiter: SlidingWindowCounterRateLimiter, item: RateLimitItem, ident: str):
    """(the window's standing before this request, whether it was counted in).

    With Redis, limits' two scripts go in one pipeline: one round trip. The scripts are
    limits' own, called by their SHA; if Redis does not have them yet (a restart),
    limits' two calls load them."""
    storage = limiter.storage
    if isinstance(storage, RedisStorage):
        pipe = storage.get_connection().pipeline(transaction=False)
        _queue(pipe, storage, item, ident)
        try:
            window, acquired = pipe.execute()
        except NoScriptError:
            pass
        else:
            return _answered(item, ident, window, acquired)
    before = limiter.get_window_stats(item, ident)
    return before, before.remaining >= 1 and limiter.hit(item, ident)


def _forget_in_child() -> None:
    # redis-py's pool would reconnect in a forked child by itself, but MemoryStorage's
    # locks may have been held by another thread at the fork, and its counts are the
    # parent's: a child makes its own storage, as if it had just started.
    global _making
    _limiters.clear()
    _making = threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)


def reset_all() -> None:
    """Forget every budget's windows: this process's, or with REDIS_URL every process's
    under this install's prefix (tests, between one test and the next)."""
    _strategy().storage.reset()


# --- spending ---------------------------------------------------------------------


@lru_cache(maxsize=64)
def _item(scope: str, rate: str) -> RateLimitItem:
    count, _, period = rate.partition("/")
    return _PERIODS[period.strip()[0]](int(count), namespace=scope)


def _spend(request, kind: _Kind, ident: str) -> Standing:
    """Spend one request of `ident`'s budget of this kind; keeps the tightest Standing
    on request.rate_limit and returns this one (its wait is None if allowed). A request
    that spent it already (queue_key_read, before falling back to DRF) is not counted
    twice: its standing is returned again."""
    spent = getattr(getattr(request, "_request", request), "budgets_spent", {})
    if (kind.scope, ident) in spent:
        return spent[(kind.scope, ident)]
    item = _item(kind.scope, getattr(settings, kind.setting))
    before, allowed = _read_and_hit(_strategy(), item, ident)
    return _standing(request, kind, item, ident, before, allowed)


def _standing(request, kind: _Kind, item: RateLimitItem, ident: str, before,
              allowed: bool) -> Standing:
    period = item.get_expiry()
    # limits answers "now" for an empty window; after this request it holds one, which
    # leaves it within a period.
    reset_in = before.reset_time - time.time()
    if reset_in <= 0:
        reset_in = period
    standing = Standing(
        limit=item.amount,
        remaining=max(0, before.remaining - 1) if allowed else 0,
        reset=max(1, math.ceil(reset_in)),
        refusal=kind.used_up.format(limit=item.amount, period=item.GRANULARITY.name),
        wait=None if allowed else reset_in,
    )
    _keep_tightest(request, standing)
    plain = getattr(request, "_request", request)  # DRF's Request wraps Django's
    if not hasattr(plain, "budgets_spent"):
        plain.budgets_spent = {}
    plain.budgets_spent[(kind.scope, ident)] = standing
    return standing


def queue_key_read(pipe, key_id: str):
    """Queue the spending of one request of the key's read budget on `pipe` (a pipeline
    on the same Redis), for a caller that sends other reads in the same round trip.

    Returns None without Redis (spend with spend_key_read), else a function of (request,
    the two answers) that keeps the Standing as _spend does and returns whether the
    request was allowed, or None if Redis lacked limits' scripts (nothing was counted).
    Once it has run, KeyReadBudget counts the request as spent already."""
    limiter = _strategy()
    if not isinstance(limiter.storage, RedisStorage):
        return None
    item = _item(_READ.scope, settings.API_RATE_LIMIT_READ)
    _queue(pipe, limiter.storage, item, key_id)

    def finish(request, answers: list) -> bool | None:
        if any(isinstance(answer, Exception) for answer in answers):
            return None
        before, allowed = _answered(item, key_id, *answers)
        return _standing(request, _READ, item, key_id, before, allowed).wait is None

    return finish


def spend_key_read(request, key_id: str) -> bool:
    """Spend one request of the API key's read budget; keeps the Standing on
    request.rate_limit as the DRF throttles do; True if allowed.

    `request` may be a plain HttpRequest; KeyReadBudget spends the same budget. On False,
    exceeded(request) is the 429 to answer."""
    return _spend(request, _READ, key_id).wait is None


def _keep_tightest(request, standing: Standing) -> None:
    """The standing a response tells: a refusal over an allowance, then the fewest
    remaining (the first of equals)."""
    current = getattr(request, "rate_limit", None)
    if current is None or ((standing.wait is not None, -standing.remaining)
                           > (current.wait is not None, -current.remaining)):
        request.rate_limit = standing


# --- DRF's entry points -----------------------------------------------------------


class Budget(BaseThrottle):
    kind: _Kind
    scope: str

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.scope = cls.kind.scope

    def __init__(self):
        self._wait: float | None = None

    def ident(self, request, view) -> str | None:
        """Whose budget this request spends, or None if it does not spend this one."""
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        ident = self.ident(request, view)
        if ident is None:
            return True
        self._wait = _spend(request, self.kind, ident).wait
        return self._wait is None

    def wait(self) -> float | None:
        """Seconds until the request this budget refused may be retried (DRF asks)."""
        return self._wait


def _api_key_id(request) -> str | None:
    return None if request.auth is None else str(request.auth.pk)


class KeyReadBudget(Budget):
    kind = _READ

    def ident(self, request, view):
        return _api_key_id(request) if request.method in SAFE_METHODS else None


class KeyWriteBudget(Budget):
    kind = _WRITE

    def ident(self, request, view):
        return _api_key_id(request) if request.method not in SAFE_METHODS else None


class KeyUploadBudget(Budget):
    kind = _UPLOADS

    def ident(self, request, view):
        if request.method != "POST" or getattr(view, "throttle_scope", None) != "uploads":
            return None
        return _api_key_id(request)


class AddressBudget(Budget):
    kind = _ADDRESS

    def ident(self, request, view):
        return limit_key(client_address(request)) if request.auth is None else None


# --- answers ----------------------------------------------------------------------


def exceeded(request, wait: float | None = None) -> RateLimited:
    """The error for a request a budget refused (APIView.throttled, or after
    spend_key_read); `request` may be DRF's or a plain HttpRequest."""
    standing = getattr(request, "rate_limit", None)
    if wait is None and standing is not None:
        wait = standing.wait if standing.wait is not None else standing.reset
    retry_after = wait if wait is not None else 1
    used_up = standing.refusal if standing else "Too many requests."
    return RateLimited(f"{used_up} Retry after {max(1, math.ceil(retry_after))} s.",
                       retry_after=retry_after)


def add_headers(response, request) -> None:
    standing = getattr(request, "rate_limit", None)
    if standing is None:
        return
    response["RateLimit-Limit"] = str(standing.limit)
    response["RateLimit-Remaining"] = str(standing.remaining)
    response["RateLimit-Reset"] = str(standing.reset)
