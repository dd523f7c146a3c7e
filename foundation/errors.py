"""One error hierarchy for the whole platform.

Services raise these; the API's exception handler renders them as problem+json with
their ``code`` and ``status``; the admin shows their message. Catch narrowly.
"""

from __future__ import annotations

import math


class DomainError(Exception):
    code = "domain_error"
    status = 400
    title = "Request could not be completed"

    def __init__(self, detail: str, *, code: str | None = None, errors: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.errors = errors


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class InvalidTransition(DomainError):
    """A state change the object's state machine does not allow (HTTP 409)."""

    code = "invalid_state"
    status = 409
    title = "Not allowed in the object's current state"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict"


class ValidationFailed(DomainError):
    code = "invalid_request"
    status = 400
    title = "Invalid request"


class RateLimited(DomainError):
    """Too many requests, or too many failed credentials (HTTP 429); retry after a wait."""

    code = "rate_limited"
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: float, code: str | None = None):
        super().__init__(detail, code=code)
        # Whole seconds (Retry-After has no fractions), never 0: "now" would be retried at once.
        self.retry_after = max(1, math.ceil(retry_after))
