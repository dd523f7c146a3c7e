"""Writing the audit trail. Call inside the transaction that makes the change.

Every action an entry can name is declared once, by the app that writes it (its
`audit_actions` module, imported by its AppConfig.ready()); writing an undeclared
action raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .context import Actor, current_request_id
from .models import AuditEntry
from .registry import Registry


@dataclass(frozen=True)
class AuditAction:
    name: str
    description: str

    def __str__(self) -> str:
        return self.name


class UnknownAuditAction(LookupError):
    pass


_actions: Registry[AuditAction] = Registry("audit action", UnknownAuditAction)


def register_action(name: str, description: str) -> AuditAction:
    return _actions.add(AuditAction(name, description))


def all_actions() -> list[AuditAction]:
    return _actions.all()


def is_known_action(name: str) -> bool:
    return name in _actions


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields whose value changed, as {field: [before, after]}."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def audit_record(
    *,
    actor: Actor,
    action: AuditAction | str,
    object_type: str,
    object_id: str,
    environment_id: str | None,
    changes: dict[str, list[Any]] | None = None,
    message: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        environment_id=environment_id,
        actor_type=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        action=_actions.get(action).name,
        object_type=object_type,
        object_id=object_id,
        request_id=current_request_id() or "",
        changes=changes or {},
        message=message,
    )
