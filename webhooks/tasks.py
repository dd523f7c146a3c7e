"""Worker entry points (django-q2). The work is in webhooks.dispatch."""

from . import dispatch


def deliver(delivery_id: str) -> str | None:
    return dispatch.deliver(delivery_id)


def deliver_due() -> int:
    return dispatch.deliver_due()
