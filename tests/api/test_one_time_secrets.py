"""Secrets shown once stay shown once: an idempotent replay carries null in their place,
and no table keeps them but the one that must (to sign, or to run a listener)."""

from __future__ import annotations

import pytest
from django.apps import apps

from foundation.models import IdempotencyRecord
from live.models import LiveStream
from webhooks.models import WebhookSecret

pytestmark = pytest.mark.django_db


def post(client, path: str, key: str, body: dict | None = None):
    return client.post(path, body or {}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def rows_holding(secret: str) -> list[str]:
    """Every model field of every row whose value contains the secret, as model.field."""
    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields]
        for row in model.objects.all().values_list(*[f.attname for f in fields]):
            for field, value in zip(fields, row, strict=True):
                if value is not None and secret in str(value):
                    found.append(f"{model._meta.label}.{field.name}")
    return found


def test_a_replayed_signing_key_carries_no_private_key(owner):
    first = post(owner, "/api/v1/signing-keys", "key-1")
    again = post(owner, "/api/v1/signing-keys", "key-1")

    assert first.status_code == again.status_code == 201
    assert first.json()["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == {**first.json(), "private_key": None}
    assert rows_holding(first.json()["private_key"].splitlines()[1]) == []


def test_a_replayed_live_stream_carries_no_stream_key_or_passphrase(owner):
    first = post(owner, "/api/v1/live-streams", "stream-1", {"playback_policy": ["public"]})
    again = post(owner, "/api/v1/live-streams", "stream-1", {"playback_policy": ["public"]})

    created = first.json()
    assert created["stream_key"] and created["srt_url"]
    assert again.json() == {**created, "stream_key": None, "srt_url": None}
    assert LiveStream.objects.count() == 1
    key_secret = created["stream_key"].partition("?key=")[2]
    passphrase = created["srt_url"].partition("passphrase=")[2]
    assert rows_holding(key_secret) == []
    # The SRT listener is started with the passphrase, so the stream's row needs it.
    assert rows_holding(passphrase) == ["live.LiveStream.srt_passphrase"]


def test_a_replayed_stream_key_reset_carries_no_new_key(owner):
    stream_id = post(owner, "/api/v1/live-streams", "stream-1",
                     {"playback_policy": ["public"]}).json()["id"]
    first = post(owner, f"/api/v1/live-streams/{stream_id}/reset-stream-key", "reset-1")
    again = post(owner, f"/api/v1/live-streams/{stream_id}/reset-stream-key", "reset-1")

    assert first.status_code == again.status_code == 200
    assert first.json()["stream_key"]
    assert again.json() == {**first.json(), "stream_key": None, "srt_url": None}
    assert rows_holding(first.json()["stream_key"].partition("?key=")[2]) == []


def test_a_replayed_webhook_endpoint_carries_no_secret(owner, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    body = {"url": "http://127.0.0.1:9/hook", "events": ["video.asset.ready"]}
    first = post(owner, "/api/v1/webhook-endpoints", "hook-1", body)
    again = post(owner, "/api/v1/webhook-endpoints", "hook-1", body)

    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    assert again.json() == {**first.json(), "secret": None}
    # Deliveries are signed with it, so its own table keeps it; nothing else does.
    assert rows_holding(secret) == ["webhooks.WebhookSecret.secret"]

    endpoint_id = first.json()["id"]
    rotated = post(owner, f"/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret", "rot-1")
    replayed = post(owner, f"/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret", "rot-1")
    assert replayed.json() == {**rotated.json(), "secret": None}
    assert rows_holding(rotated.json()["secret"]) == ["webhooks.WebhookSecret.secret"]
    assert WebhookSecret.objects.filter(endpoint_id=endpoint_id).count() == 2


def test_a_response_without_secrets_is_replayed_byte_for_byte(owner):
    body = {"new_asset_settings": {"playback_policy": ["public"], "title": "Caf\u00e9"}}
    first = post(owner, "/api/v1/uploads", "upl-1", body)
    again = post(owner, "/api/v1/uploads", "upl-1", body)

    assert again.content == first.content
    assert IdempotencyRecord.objects.get(key="upl-1").response_body == first.content.decode()
