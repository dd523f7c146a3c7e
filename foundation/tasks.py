"""Handing work to the task queue: always after the transaction that made it commits."""

from __future__ import annotations

from django.db import transaction
from django_q.tasks import async_task

from .context import current_request_id


def enqueue(func: str, *args, keep_result: bool = True) -> None:
    """Queue `func(*args)` now, carrying the request id. Outside a transaction only.

    `keep_result=False` skips django-q2's record of a successful run (a failure is still
    kept): for small, frequent tasks whose work leaves its own rows, where writing and
    pruning that record costs more than the task.
    """
    options = {} if keep_result else {"save": False}
    async_task(func, *args, request_id=current_request_id(), **options)


def enqueue_on_commit(func: str, *args, keep_result: bool = True) -> None:
    """Queue `func(*args)` once the current transaction commits (never if it rolls back).

    The arguments are bound now, so a caller in a loop queues each value it passed.
    """
    transaction.on_commit(lambda: enqueue(func, *args, keep_result=keep_result))
