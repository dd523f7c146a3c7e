from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from foundation import audit_actions, key_cache
from foundation.audit import audit_record, diff
from foundation.context import Actor
from foundation.errors import ValidationFailed
from foundation.models import SCOPES, ApiKey, Environment

SECRET_PREFIX = "kino_sk_"
# A key's last_used_at is written at most this often: no write on every request.
USE_RECORD_SECONDS = 60


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


def environment_get_or_create(*, name: str, actor: Actor,
                              max_duration_seconds: int | None = None) -> Environment:
    """The environment of that name; `max_duration_seconds` is its limit if it is new."""
    with transaction.atomic():
        environment, created = Environment.objects.get_or_create(
            name=name, defaults={"max_duration_seconds": max_duration_seconds})
        if created:
            audit_record(actor=actor, action=audit_actions.ENVIRONMENT_CREATED,
                         object_type="environment", object_id=environment.id,
                         environment_id=environment.id,
                         changes=diff({}, {"name": name,
                                           "max_duration_seconds": max_duration_seconds}))
    return environment


def environment_set_max_duration(*, environment: Environment, max_duration_seconds: int | None,
                                 actor: Actor) -> Environment:
    """The longest video the environment's assets may be; None: the platform's default.

    Assets not yet processed are held to the new limit too (processing reads it).
    """
    if max_duration_seconds is not None and max_duration_seconds < 1:
        raise ValidationFailed("The limit is at least 1 second.",
                               errors={"max_duration_seconds": ["Must be at least 1."]})
    return environment_update(environment=environment, actor=actor,
                              max_duration_seconds=max_duration_seconds)


def environment_set_publishing(*, environment: Environment, publishing: str,
                               actor: Actor) -> Environment:
    """Whether the environment's new assets are published when ready (auto) or wait in
    draft (review). Assets that exist keep their publication."""
    if publishing not in Environment.Publishing.values:
        raise ValidationFailed(f"publishing is one of {', '.join(Environment.Publishing.values)}.",
                               errors={"publishing": ["Not a choice."]})
    return environment_update(environment=environment, actor=actor, publishing=publishing)


def environment_update(*, environment: Environment, actor: Actor, **fields) -> Environment:
    """Change settings of an environment, with an audit entry of what changed."""
    with transaction.atomic():
        environment = Environment.objects.select_for_update().get(pk=environment.pk)
        changes = diff({name: getattr(environment, name) for name in fields}, fields)
        if changes:
            for name, value in fields.items():
                setattr(environment, name, value)
            environment.save(update_fields=list(fields))
            audit_record(actor=actor, action=audit_actions.ENVIRONMENT_UPDATED,
                         object_type="environment", object_id=environment.id,
                         environment_id=environment.id,
                         changes=changes)
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
        audit_record(actor=actor, action=audit_actions.API_KEY_CREATED, object_type="api_key",
                     object_id=key.id, environment_id=environment.id,
                     changes={"name": [None, name], "scopes": [None, scopes]})
    return key, secret


def api_key_revoke(*, key: ApiKey, actor: Actor) -> ApiKey:
    """Revoke a key; every process refuses it from its next request on."""
    with transaction.atomic():
        changed = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        # Every process's next request refuses the key (foundation/key_cache.py).
        key_cache.revoking(key.secret_hash)
        if changed:
            key.refresh_from_db()
            audit_record(actor=actor, action=audit_actions.API_KEY_REVOKED, object_type="api_key",
                         object_id=key.id, environment_id=key.environment_id,
                         changes={"revoked_at": [None, key.revoked_at.isoformat()]})
    return key


def api_key_find(secret: str) -> ApiKey | None:
    """The active key a secret belongs to, read from the database."""
    return (ApiKey.objects.select_related("environment")
            .filter(secret_hash=_hash(secret), revoked_at__isnull=True).first())


def api_key_authenticate(secret: str) -> ApiKey | None:
    """The active key a request's secret belongs to, its use recorded once a minute.

    With a cache every process shares, a warm key costs no query and no read for the
    use record (foundation/key_cache.py); without one, one indexed lookup.
    """
    digest = _hash(secret)
    if not key_cache.enabled():
        key = api_key_find(secret)
        if key is not None and (key.last_used_at is None or key.last_used_at
                                < timezone.now() - timedelta(seconds=USE_RECORD_SECONDS)):
            _record_use(key)
        return key
    key, use_recorded = key_cache.read(digest)
    if key is key_cache.MISS:
        found = ApiKey.objects.select_related("environment").filter(secret_hash=digest).first()
        if found is None:
            # Not cached: guessed secrets would fill the cache, and each guess counts
            # as a failed credential for its address.
            return None
        key_cache.fill(found)
        key = found if found.is_active else None
    if key is not None and not use_recorded and key_cache.use_due(
            digest, interval=USE_RECORD_SECONDS):
        _record_use(key)
    return key


def _record_use(key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
