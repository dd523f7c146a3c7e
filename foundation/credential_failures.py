"""Failed credentials per client address, and the refusal that follows too many.

Counted where a credential is refused: bad or revoked API keys, forged playback and
upload-URL tokens, wrong admin passwords. Once an address has CREDENTIAL_FAILURE_LIMIT
failures within CREDENTIAL_FAILURE_WINDOW_SECONDS, each of those entry points answers it
429 with Retry-After *before* looking at the credential, until the oldest failure is
older than the window. Nothing sleeps: a wait inside the request would hold a worker
while the guesser simply opens more connections.

The refusal covers good credentials too. Letting a good key through would let a
guesser who holds one keep guessing at full speed between its good requests; the cost
is that an integrator sharing an address with a guesser (one NAT) waits out the window
as well, at most CREDENTIAL_FAILURE_WINDOW_SECONDS.

The failure times of an address (at most the limit of them) live in Django's cache,
like the API's budgets: per process with the embedded cache, shared when REDIS_URL is
set. Two failures recorded at the same instant may count as one; the next one counts.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache

from foundation.client_address import client_address, limit_key
from foundation.errors import RateLimited

CODE = "too_many_failed_credentials"
_READ = object()


def _cache_key(address: str) -> str:
    return f"credential-failures:{limit_key(address)}"


def _recent(address: str, now: float) -> list[float]:
    """The address's failure times within the window, newest first."""
    window = settings.CREDENTIAL_FAILURE_WINDOW_SECONDS
    return [t for t in cache.get(_cache_key(address), []) if t > now - window]


def cache_key(request) -> str:
    """Where the request's address's failures are kept (for a read batched with others)."""
    return _cache_key(client_address(request))


def refusal(request, cached=_READ) -> RateLimited | None:
    """The error to answer with, if the request's address has failed too often.
    `cached`: what the cache holds under cache_key(request), if the caller read it."""
    now = time.time()
    if cached is _READ:
        failures = _recent(client_address(request), now)
    else:
        window = settings.CREDENTIAL_FAILURE_WINDOW_SECONDS
        failures = [t for t in cached or [] if t > now - window]
    limit = settings.CREDENTIAL_FAILURE_LIMIT
    if len(failures) < limit:
        return None
    window = settings.CREDENTIAL_FAILURE_WINDOW_SECONDS
    # The wait until one failure falls out of the window and the count drops below the limit.
    retry_after = max(1, math.ceil(failures[limit - 1] + window - now))
    return RateLimited(
        f"Too many failed credentials from your address ({limit} within {window} s); "
        f"retry after {retry_after} s.",
        retry_after=retry_after, code=CODE)


def record(request) -> None:
    """Count a refused credential against the request's address."""
    address = client_address(request)
    now = time.time()
    failures = [now, *_recent(address, now)][:settings.CREDENTIAL_FAILURE_LIMIT]
    cache.set(_cache_key(address), failures, settings.CREDENTIAL_FAILURE_WINDOW_SECONDS)


def reset(address: str) -> None:
    """Forget an address's failures (from a shell: with REDIS_URL, for every process)."""
    cache.delete(_cache_key(address))
