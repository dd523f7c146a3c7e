"""Explicit state machines: one transition table per model, one compare-and-swap."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import models
from django.utils import timezone

from .errors import InvalidTransition


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


def transition(obj: models.Model, machine: Transitions, dst: str, *, field: str = "status",
               extra: dict | None = None) -> str:
    """Move ``obj`` to ``dst`` with a compare-and-swap on its current state.

    Raises InvalidTransition if the table forbids it or if another writer changed the
    row since it was read (exactly one row must change). Returns the previous state.
    """
    src = getattr(obj, field)
    machine.check(src, dst)
    updates = {field: dst, **(extra or {})}
    if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
        updates.setdefault("updated_at", timezone.now())  # update() skips auto_now
    changed = type(obj)._default_manager.filter(pk=obj.pk, **{field: src}).update(**updates)
    if changed != 1:
        fresh = type(obj)._default_manager.filter(pk=obj.pk).values_list(field, flat=True).first()
        raise InvalidTransition(
            f"The {machine.name} changed meanwhile (now '{fresh}'); cannot go to '{dst}'."
        )
    for key, value in updates.items():
        setattr(obj, key, value)
    return src
