"""Explicit state machines: one transition table per model, one compare-and-swap."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from .errors import InvalidTransition

log = logging.getLogger("kino.transitions")

# How a log line names an object by its id's prefix (foundation/ids.py): the keys
# operators search the logs by.
LOG_KEYS = {"ast": "asset_id", "job": "job_id", "upl": "upload_id", "lvs": "stream_id",
            "lss": "session_id", "smt": "simulcast_target_id", "evt": "event_id",
            "whd": "delivery_id", "whe": "endpoint_id", "pbk": "playback_id", "trk": "track_id"}


class Transitions:
    def __init__(self, name: str, table: Mapping[str, Iterable[str]]):
        self.name = name
        self.table = {src: frozenset(dsts) for src, dsts in table.items()}

    def allowed(self, src: str, dst: str) -> bool:
        return dst in self.table.get(src, ())

    def check(self, src: str, dst: str) -> None:
        if not self.allowed(src, dst):
            raise InvalidTransition(
                f"This {self.name} cannot go from '{src}' to '{dst}'.", code="invalid_state"
            )

    def sources_of(self, dst: str) -> list[str]:
        return sorted(src for src, dsts in self.table.items() if dst in dsts)


Fence = Q | Mapping[str, Any]


def transition(obj: models.Model, machine: Transitions, dst: str, *, field: str = "status",
               extra: dict | None = None, fence: Fence | None = None) -> str:
    """Move ``obj`` to ``dst`` with a compare-and-swap on its current state.

    Raises InvalidTransition if the table forbids it or if another writer changed the
    row since it was read (exactly one row must change). Returns the previous state.
    ``fence``: further conditions the row must still meet (e.g. that no request holds
    its writer claim), checked by the same UPDATE.
    """
    src = getattr(obj, field)
    machine.check(src, dst)
    if not _swap(obj, machine, field, src, dst, extra, fence):
        fresh = type(obj)._default_manager.filter(pk=obj.pk).values_list(field, flat=True).first()
        raise InvalidTransition(
            f"The {machine.name} changed meanwhile (now '{fresh}'); cannot go to '{dst}'."
        )
    return src


def fenced_transition(obj: models.Model, machine: Transitions, src: str, dst: str, *,
                      fence: Fence, field: str = "status", extra: dict | None = None) -> bool:
    """A worker's transition: from the state its claim holds the row in (``src``, e.g.
    running), and only while the row still matches the claim (``fence``: its attempt
    number, its claim token).

    A worker that lost its claim (it stalled, another attempt took over) changes nothing
    and gets False: a superseded attempt is normal, not an error. The table is checked
    first all the same; a move it forbids raises InvalidTransition.
    """
    machine.check(src, dst)
    return _swap(obj, machine, field, src, dst, extra, fence)


def _swap(obj: models.Model, machine: Transitions, field: str, src: str, dst: str,
          extra: dict | None, fence: Fence | None) -> bool:
    updates = {field: dst, **(extra or {})}
    if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
        updates.setdefault("updated_at", timezone.now())  # update() skips auto_now
    rows = type(obj)._default_manager.filter(pk=obj.pk, **{field: src})
    if isinstance(fence, Q):
        rows = rows.filter(fence)
    elif fence:
        rows = rows.filter(**fence)
    if rows.update(**updates) != 1:
        return False
    for key, value in updates.items():
        setattr(obj, key, value)
    log_transition(obj, machine, src, dst)
    return True


def log_transition(obj: models.Model, machine: Transitions, src: Any, dst: Any) -> None:
    """One INFO line per transition, once it is committed (a rolled-back one never
    happened): the object's id, its related ids and both states, for LOG_FORMAT=json.
    transition() logs its own; a service that moves a state with its own UPDATE calls it."""
    fields: dict[str, Any] = {"transition": {"object": machine.name, "id": obj.pk,
                                             "from": src, "to": dst}}
    for value in [obj.pk, *(getattr(obj, f.attname) for f in obj._meta.concrete_fields
                            if f.is_relation)]:
        prefix = value.partition("_")[0] if isinstance(value, str) else None
        if prefix == "env":
            fields["environment"] = value
        elif prefix in LOG_KEYS:
            fields.setdefault(LOG_KEYS[prefix], value)
    transaction.on_commit(
        lambda: log.info("%s %s: %s -> %s", machine.name, obj.pk, src, dst, extra=fields),
        using=obj._state.db)
