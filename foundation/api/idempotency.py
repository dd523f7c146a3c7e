"""Idempotency-Key on POST: replay the first response, 422 on another body, 409 in flight.

The record is claimed in its own short transaction, so a concurrent request with the
same key sees it and gets 409 (two that claim at the same instant are decided by the
unique constraint). The view's writes and the record's completion then
commit together: either the object exists and the record holds its response, or
neither does and an abandoned claim can be taken again once it is stale.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from foundation.errors import Conflict, DomainError
from foundation.models import IdempotencyRecord

RETENTION = timedelta(hours=24)
# A claim older than any request can run was left by a crashed process: its
# transaction rolled back, so nothing was created and the key may be used again.
ABANDONED_AFTER = timedelta(minutes=5)
MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("Location",)


class KeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422
    title = "Idempotency-Key reused with a different request"


class InvalidKey(DomainError):
    code = "invalid_idempotency_key"
    status = 400
    title = "Invalid Idempotency-Key"


def fingerprint(method: str, path: str, body: bytes, content_type: str) -> str:
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    if content_type.startswith("application/json") and body:
        try:
            body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
        except ValueError:
            pass
    digest.update(body)
    return digest.hexdigest()


def claim(*, scope: str, key: str, fingerprint: str) -> IdempotencyRecord | dict:
    """Claim the key, or return the stored response {status, body, headers} to replay."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidKey(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.")
    now = timezone.now()
    for _ in range(3):
        # Look before inserting: on SQLite an INSERT waits for the database's one writer,
        # which may be the first request itself, holding its transaction until it ends;
        # a read does not wait, so a request arriving meanwhile is answered 409 at once.
        existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    return IdempotencyRecord.objects.create(scope=scope, key=key,
                                                            fingerprint=fingerprint)
            except IntegrityError:
                continue  # claimed by a concurrent request a moment ago: judge that one
        expired = existing.created_at < now - RETENTION
        abandoned = (existing.state == IdempotencyRecord.State.IN_PROGRESS
                     and existing.created_at < now - ABANDONED_AFTER)
        if expired or abandoned:
            IdempotencyRecord.objects.filter(pk=existing.pk, state=existing.state,
                                             created_at=existing.created_at).delete()
            continue
        if existing.fingerprint != fingerprint:
            raise KeyReused("This Idempotency-Key was used with a different request body or path.")
        if existing.state == IdempotencyRecord.State.IN_PROGRESS:
            raise Conflict("A request with this Idempotency-Key is still being processed.",
                           code="idempotency_key_in_use")
        return {"status": existing.response_status, "body": existing.response_body,
                "content_type": existing.response_content_type,
                "headers": existing.response_headers}
    raise Conflict("A request with this Idempotency-Key is still being processed.",
                   code="idempotency_key_in_use")


def without_secrets(body: str, secrets: tuple[str, ...]) -> str:
    """The body with each one-time secret field set to null.

    A replay is handed to whoever repeats the key, and the record sits in the database
    for a day: neither may carry a private key, a stream key or a webhook secret that
    the platform promised to show once and store only as a hash (or not at all).
    """
    if not secrets or not body:
        return body
    try:
        document = json.loads(body)
    except ValueError:
        return body
    if not isinstance(document, dict) or not any(document.get(f) is not None for f in secrets):
        return body
    for field in secrets:
        if field in document:
            document[field] = None
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def complete(record: IdempotencyRecord, response, *, secrets: tuple[str, ...] = ()) -> None:
    """Keep a rendered response to replay, with its one-time secrets nulled."""
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=IdempotencyRecord.State.COMPLETED,
        response_status=response.status_code,
        response_body=without_secrets(response.content.decode(), secrets),
        response_content_type=response.get("Content-Type", ""),
        response_headers={k: v for k, v in response.items() if k in REPLAYED_HEADERS},
    )


def release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyRecord.State.IN_PROGRESS).delete()


def purge_expired() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - RETENTION).delete()
    return deleted
