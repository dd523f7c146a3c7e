from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from foundation.audit import audit_record
from foundation.context import Actor
from foundation.errors import ValidationFailed
from media_core.models import SCOPES, ApiKey, Environment

SECRET_PREFIX = "kino_sk_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(raw: str | list[str]) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    scopes = [s.strip() for s in items if s.strip()]
    if scopes == ["all"]:
        return list(SCOPES)
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationFailed(
            f"Unknown scopes: {', '.join(unknown) or '(none given)'}. "
            f"Choose from: {', '.join(SCOPES)}, or 'all'.",
            errors={"scopes": ["Unknown or empty scope list."]},
        )
    return sorted(set(scopes), key=SCOPES.index)


def environment_get_or_create(*, name: str, actor: Actor) -> Environment:
    with transaction.atomic():
        environment, created = Environment.objects.get_or_create(name=name)
        if created:
            audit_record(actor=actor, action="environment.created", object_type="environment",
                         object_id=environment.id, environment_id=environment.id,
                         changes={"name": [None, name]})
    return environment


def api_key_create(*, environment: Environment, name: str, scopes: list[str],
                   actor: Actor) -> tuple[ApiKey, str]:
    """Create a key; the secret is returned here once and never stored."""
    scopes = parse_scopes(scopes)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(environment=environment, name=name, scopes=scopes,
                                    prefix=secret[: len(SECRET_PREFIX) + 6],
                                    secret_hash=_hash(secret))
        audit_record(actor=actor, action="api_key.created", object_type="api_key",
                     object_id=key.id, environment_id=environment.id,
                     changes={"name": [None, name], "scopes": [None, scopes]})
    return key, secret


def api_key_revoke(*, key: ApiKey, actor: Actor) -> ApiKey:
    with transaction.atomic():
        changed = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        if changed:
            key.refresh_from_db()
            audit_record(actor=actor, action="api_key.revoked", object_type="api_key",
                         object_id=key.id, environment_id=key.environment_id,
                         changes={"revoked_at": [None, key.revoked_at.isoformat()]})
    return key


def api_key_find(secret: str) -> ApiKey | None:
    return (ApiKey.objects.select_related("environment")
            .filter(secret_hash=_hash(secret), revoked_at__isnull=True).first())
