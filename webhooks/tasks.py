"""Worker entry points (django-q2). The work is in webhooks.dispatch."""

from __future__ import annotations

from foundation.context import request_id_scope

from . import dispatch


def deliver(delivery_id: str, request_id: str | None = None) -> str | None:
    with request_id_scope(request_id):
        return dispatch.deliver(delivery_id)


def deliver_when_due(delivery_id: str, attempts: int, request_id: str | None = None) -> str | None:
    with request_id_scope(request_id):
        return dispatch.deliver_when_due(delivery_id, attempts)


def drain(request_id: str | None = None) -> int:
    with request_id_scope(request_id):
        return dispatch.drain_woken()


def deliver_due() -> int:
    return dispatch.deliver_due()
