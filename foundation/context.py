"""Who is acting and under which request id, carried through a request or a task."""

from __future__ import annotations

import contextvars
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# Who acts and in which environment, for the log lines (foundation/logging.py).
_environment: contextvars.ContextVar[str | None] = contextvars.ContextVar("environment",
                                                                          default=None)
_caller: contextvars.ContextVar[str | None] = contextvars.ContextVar("caller", default=None)

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


def current_environment() -> str | None:
    return _environment.get()


def current_caller() -> str | None:
    return _caller.get()


@contextmanager
def request_id_scope(request_id: str | None):
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


@contextmanager
def log_scope(*, request_id: str | None, environment: str | None = None,
              caller: str | None = None):
    """A request's or a task's context: whatever identify() names inside it ends with it
    (a worker thread serves one request after another)."""
    request_token = _request_id.set(request_id)
    environment_token, caller_token = _environment.set(environment), _caller.set(caller)
    try:
        yield
    finally:
        _caller.reset(caller_token)
        _environment.reset(environment_token)
        _request_id.reset(request_token)


def identify(*, caller: str, environment: str | None = None) -> None:
    """Name who acts (an Actor's `caller`), and in which environment, for the rest of the
    current log_scope: once the API key or the signed-in user is known."""
    _caller.set(caller)
    if environment is not None:
        _environment.set(environment)


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

    @property
    def caller(self) -> str:
        """How log lines name it: `key_…`, `user:<pk>` (not the name, which may be an
        address), or `system`."""
        return f"user:{self.id}" if self.kind == "user" else self.id
