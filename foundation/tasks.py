"""Handing work to the task queue: always after the transaction that made it commits."""

from __future__ import annotations

from django.db import transaction
from django_q.tasks import async_task

from .context import current_request_id


def enqueue(func: str, *args) -> None:
    """Queue `func(*args)` now, carrying the request id. Outside a transaction only."""
    async_task(func, *args, request_id=current_request_id())


def enqueue_on_commit(func: str, *args) -> None:
    """Queue `func(*args)` once the current transaction commits (never if it rolls back).

    The arguments are bound now, so a caller in a loop queues each value it passed.
    """
    transaction.on_commit(lambda: enqueue(func, *args))
