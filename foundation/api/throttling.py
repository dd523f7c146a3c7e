"""API request budgets: DRF throttles, each a sliding window of request times.

Per API key: reads (GET, HEAD, OPTIONS), writes (every other method), and uploads (a
POST to a view with ``throttle_scope = "uploads"``: new media, which also counts as a
write). Per client address: requests without a key, which only the schema and its
reference page accept (every other view answers 401 before budgets are looked at; bad
keys are counted by foundation/credential_failures.py). Rates are read from settings
(API_RATE_LIMIT_*) when a request arrives, so an operator's shell or a test can change
them.

Windows live in Django's cache: with the embedded defaults each web process keeps its
own, with REDIS_URL every process shares them. DRF reads and rewrites a window without
a lock, so requests arriving at the same instant in several processes can pass a few
over the limit: these budgets keep one caller from crowding out the others; they are
not billing.

Every answer of an API view tells the budget closest to running out, with the IETF
draft's RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds until the
oldest request in the window leaves it); a refusal is 429 with Retry-After.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle

from foundation.client_address import client_address, limit_key
from foundation.errors import RateLimited

_PERIOD_NAMES = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


@dataclass(frozen=True)
class Standing:
    """Where a request left one budget."""

    limit: int
    remaining: int
    reset: int
    refusal: str


class Budget(SimpleRateThrottle):
    setting: str
    # "{limit} ... per {period}": what the caller used up, for the 429's detail.
    used_up: str

    def __init__(self):
        # DRF's rates are bound when its settings load; ours are read per request.
        self.rate = getattr(settings, self.setting)
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def ident(self, request, view) -> str | None:
        """Whose budget this request spends, or None if it does not spend this one."""
        raise NotImplementedError

    def get_cache_key(self, request, view) -> str | None:
        ident = self.ident(request, view)
        return None if ident is None else f"rate-limit:{self.scope}:{ident}"

    def allow_request(self, request, view) -> bool:
        allowed = super().allow_request(request, view)
        if self.key is not None:
            _keep_tightest(request, self._standing())
        return allowed

    def _standing(self) -> Standing:
        oldest = self.history[-1] if self.history else self.now
        period = _PERIOD_NAMES[self.duration]
        return Standing(
            limit=self.num_requests,
            remaining=max(0, self.num_requests - len(self.history)),
            reset=max(1, math.ceil(self.duration - (self.now - oldest))),
            refusal=self.used_up.format(limit=self.num_requests, period=period),
        )


def _api_key_id(request) -> str | None:
    return None if request.auth is None else str(request.auth.pk)


class KeyReadBudget(Budget):
    scope = "read"
    setting = "API_RATE_LIMIT_READ"
    used_up = "This API key has made its {limit} read requests per {period}."

    def ident(self, request, view):
        return _api_key_id(request) if request.method in SAFE_METHODS else None


class KeyWriteBudget(Budget):
    scope = "write"
    setting = "API_RATE_LIMIT_WRITE"
    used_up = "This API key has made its {limit} write requests per {period}."

    def ident(self, request, view):
        return _api_key_id(request) if request.method not in SAFE_METHODS else None


class KeyUploadBudget(Budget):
    scope = "uploads"
    setting = "API_RATE_LIMIT_UPLOADS"
    used_up = "This API key has started its {limit} new uploads or imports per {period}."

    def ident(self, request, view):
        if request.method != "POST" or getattr(view, "throttle_scope", None) != "uploads":
            return None
        return _api_key_id(request)


class AddressBudget(Budget):
    scope = "address"
    setting = "API_RATE_LIMIT_ANONYMOUS"
    used_up = "This address has made its {limit} requests per {period} without an API key."

    def ident(self, request, view):
        return limit_key(client_address(request)) if request.auth is None else None


def _keep_tightest(request, standing: Standing) -> None:
    current = getattr(request, "rate_limit", None)
    if current is None or standing.remaining < current.remaining:
        request.rate_limit = standing


def exceeded(request, wait: float | None) -> RateLimited:
    """The error for a request a budget refused (APIView.throttled)."""
    standing = getattr(request, "rate_limit", None)
    retry_after = wait if wait is not None else (standing.reset if standing else 1)
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
