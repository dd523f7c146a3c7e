"""Writing the audit trail. Call inside the transaction that makes the change."""

from __future__ import annotations

from typing import Any

from .context import Actor, current_request_id
from .models import AuditEntry


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
    action: str,
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
        action=action,
        object_type=object_type,
        object_id=object_id,
        request_id=current_request_id() or "",
        changes=changes or {},
        message=message,
    )
