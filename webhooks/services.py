"""The outbox. Domain services hand it an event type and the object as the API shows it."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from foundation.context import current_request_id

from .models import Event


def event_emit(*, environment_id: str, type: str, object_type: str, object_id: str,
               data: dict[str, Any]) -> Event:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_emit must run inside the transaction of the change it reports")
    return Event.objects.create(
        environment_id=environment_id,
        type=type,
        object_type=object_type,
        object_id=object_id,
        data=data,
        request_id=current_request_id() or "",
    )
