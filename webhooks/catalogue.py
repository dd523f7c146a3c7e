"""The one catalogue of event types.

The outbox knows no domain: each app declares the types it emits in its own `events`
module (media_core/events.py, live/events.py, webhooks/events.py), imported by its
AppConfig.ready(), and hands `event_emit` those constants. Emitting an undeclared type
raises, and a webhook endpoint cannot subscribe to one (400), so a misspelt type fails
loudly instead of being heard by nobody. The API schema lists the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

from foundation.registry import Registry

ALL = "*"


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    # The object the event carries in `object.type` and `data`.
    object_type: str

    def __str__(self) -> str:
        return self.name


class UnknownEventType(LookupError):
    pass


_types: Registry[EventType] = Registry("event type", UnknownEventType)


def register(name: str, description: str, *, object_type: str) -> EventType:
    return _types.add(EventType(name, description, object_type))


def get(type: EventType | str) -> EventType:
    """The declared type of that name; raises UnknownEventType."""
    return _types.get(type)


def all_types() -> list[EventType]:
    return _types.all()


def names() -> list[str]:
    return [t.name for t in _types.all()]


def is_known(name: str) -> bool:
    return name in _types
