"""Handing work to the task queue: always after the transaction that made it commits."""

from __future__ import annotations

from django.db import transaction
from django_q.signals import post_execute_in_worker, pre_enqueue, pre_execute
from django_q.tasks import async_task

from .context import current_caller, current_environment, current_request_id, log_scope


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


# --- the log context a task carries --------------------------------------------------
# A task's log lines name the request, environment and caller that queued it. They
# travel in the task package, beside the arguments the function takes.
_CONTEXT = "kino_log_context"
_open_scopes: list = []  # a worker runs one task at a time; in-process ones may nest


def _pack_context(sender, task: dict, **kwargs) -> None:
    task[_CONTEXT] = {"request_id": current_request_id(), "environment": current_environment(),
                      "caller": current_caller() or "system"}


def _open_context(sender, func, task: dict, **kwargs) -> None:
    carried = task.get(_CONTEXT) or {}
    scope = log_scope(request_id=carried.get("request_id"),
                      environment=carried.get("environment"),
                      caller=carried.get("caller") or "system")
    scope.__enter__()
    _open_scopes.append(scope)


def _close_context(sender, func, task: dict, **kwargs) -> None:
    if _open_scopes:
        _open_scopes.pop().__exit__(None, None, None)


def carry_log_context() -> None:
    """Connect the signals (apps.ready): django-q2 sends them around every task."""
    pre_enqueue.connect(_pack_context, dispatch_uid="kino-log-context-pack")
    pre_execute.connect(_open_context, dispatch_uid="kino-log-context-open")
    post_execute_in_worker.connect(_close_context, dispatch_uid="kino-log-context-close")
