"""Who is acting and under which request id, carried through a request or a task."""

from __future__ import annotations

import contextvars
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


def clean_request_id(candidate: str | None) -> str:
    """Echo the caller's id when it is safe to log; otherwise make one."""
    if candidate and _VALID_REQUEST_ID.match(candidate):
        return candidate
    return new_request_id()


def current_request_id() -> str | None:
    return _request_id.get()


@contextmanager
def request_id_scope(request_id: str | None):
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


@dataclass(frozen=True)
class Actor:
    """Who did something: an API key, an admin user, or the platform itself."""

    kind: str  # "api_key" | "user" | "system"
    id: str
    label: str

    @classmethod
    def system(cls, label: str = "platform") -> Actor:
        return cls(kind="system", id="system", label=label)

    @classmethod
    def for_user(cls, user) -> Actor:
        return cls(kind="user", id=str(user.pk), label=user.get_username())
