"""Deliveries to a real receiver on loopback, verified with the standardwebhooks library."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from foundation import outbound
from tests.factories import asset_from_file
from webhooks import dispatch
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

from .conftest import create_endpoint, drive, emit


def verify(secret: str, request: dict) -> dict:
    return Webhook(secret).verify(request["body"], request["headers"])


def test_a_ready_asset_is_delivered_after_two_failures_and_verifies(
        owner, environment, clip, receiver, fast_retries, sync_tasks):
    endpoint = create_endpoint(owner, receiver.url(), events=["video.asset.ready"])
    assert endpoint["secret"].startswith("whsec_")
    receiver.script = [500, 500]

    asset = asset_from_file(environment, clip)
    assert asset.status == "ready"
    delivery = WebhookDelivery.objects.get(endpoint_id=endpoint["id"])
    delivery = drive(delivery.id)

    assert delivery.status == "succeeded" and delivery.attempts == 3
    assert [r["status"] for r in receiver.requests] == [500, 500, 200]
    payload = verify(endpoint["secret"], receiver.requests[-1])
    event = Event.objects.get(type="video.asset.ready", object_id=asset.id)
    assert payload["type"] == "video.asset.ready"
    assert payload["id"] == event.id == receiver.requests[-1]["headers"]["webhook-id"]
    assert payload["object"] == {"type": "asset", "id": asset.id}
    assert payload["data"]["status"] == "ready"
    assert payload["sequence"] == event.sequence > 1  # created, ... then ready
    # The same document as the events API shows, plus the sequence.
    shown = owner.get(f"/api/v1/events/{event.id}").json()
    assert {k: v for k, v in payload.items() if k != "sequence"} == shown
    # Only the subscribed type was sent.
    assert {json.loads(r["body"])["type"] for r in receiver.requests} == {"video.asset.ready"}

    listed = owner.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries").json()["data"]
    assert len(listed) == 1 and listed[0]["status"] == "succeeded"
    attempts = listed[0]["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 500, 200]
    assert all(isinstance(a["latency_ms"], int) and a["started_at"] for a in attempts)
    assert attempts[0]["response_excerpt"] == "receiver says no"
    assert attempts[-1]["response_excerpt"] == '{"received": true}'


def test_every_active_secret_signs_during_a_rotation(owner, environment, receiver, fast_retries,
                                                     sync_tasks):
    endpoint = create_endpoint(owner, receiver.url())
    rotated = owner.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.content
    new = rotated.json()["secret"]
    assert new != endpoint["secret"]

    emit(environment)

    request = receiver.delivered[0]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    assert verify(endpoint["secret"], request)["type"] == "video.asset.updated"
    assert verify(new, request)["type"] == "video.asset.updated"

    # After the overlap only the new secret signs.
    WebhookEndpoint.objects.get(pk=endpoint["id"]).secrets.filter(
        expires_at__isnull=False).update(expires_at=timezone.now() - timedelta(seconds=1))
    emit(environment)
    request = receiver.delivered[1]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 1
    verify(new, request)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the library's WebhookVerificationError
        verify(endpoint["secret"], request)


def test_a_receiver_that_never_succeeds_is_dead_lettered_then_replayed(
        owner, environment, receiver, fast_retries, sync_tasks):
    endpoint = create_endpoint(owner, receiver.url())
    receiver.default = 503
    event = emit(environment)
    delivery = WebhookDelivery.objects.get(event=event)

    delivery = drive(delivery.id)

    assert delivery.status == "dead" and delivery.attempts == 4  # the whole schedule
    assert len(receiver.requests) == 4
    shown = owner.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries").json()["data"][0]
    assert shown["status"] == "dead" and shown["last_status_code"] == 503
    assert WebhookEndpoint.objects.get(pk=endpoint["id"]).failing_since is not None

    receiver.default = 200
    replayed = owner.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/replay-dead")
    assert replayed.status_code == 200 and replayed.json()["queued"] == [delivery.id]

    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert len(receiver.delivered) == 1
    verify(endpoint["secret"], receiver.delivered[0])
    assert WebhookEndpoint.objects.get(pk=endpoint["id"]).failing_since is None


def test_retry_sends_a_dead_delivery_once_more(owner, environment, receiver, fast_retries,
                                               sync_tasks, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = "0"
    endpoint = create_endpoint(owner, receiver.url())
    receiver.default = 500
    delivery = WebhookDelivery.objects.get(event=emit(environment))
    delivery.refresh_from_db()
    assert delivery.status == "dead"

    receiver.default = 204
    response = owner.post(f"/api/v1/webhook-deliveries/{delivery.id}/retry")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "succeeded"
    assert [a["status_code"] for a in response.json()["attempts"]] == [500, 204]
    assert endpoint["id"] == response.json()["endpoint_id"]


def test_410_gone_disables_the_endpoint_and_dead_letters(owner, environment, receiver,
                                                         fast_retries, sync_tasks):
    endpoint = create_endpoint(owner, receiver.url())
    receiver.default = 410
    delivery = WebhookDelivery.objects.get(event=emit(environment))
    delivery.refresh_from_db()

    assert delivery.status == "dead" and delivery.attempts == 1
    shown = owner.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").json()
    assert shown["enabled"] is False and "410" in shown["disabled_reason"]
    emit(environment)  # a disabled endpoint gets nothing new
    assert len(receiver.requests) == 1


def test_a_redirect_is_a_failure_and_not_followed(owner, environment, receiver, fast_retries,
                                                  sync_tasks):
    create_endpoint(owner, receiver.url())
    receiver.default = 302
    receiver.headers = {"Location": receiver.url("/elsewhere")}
    delivery = WebhookDelivery.objects.get(event=emit(environment))
    delivery.refresh_from_db()

    assert delivery.status == "pending" and delivery.attempts == 1
    assert [r["path"] for r in receiver.requests] == ["/hooks"]
    assert "redirect" in delivery.attempt_log.get().error


def test_retry_after_is_honoured_when_longer(owner, environment, receiver, fast_retries,
                                             sync_tasks):
    create_endpoint(owner, receiver.url())
    receiver.default = 429
    receiver.headers = {"Retry-After": "120"}
    before = timezone.now()
    delivery = WebhookDelivery.objects.get(event=emit(environment))
    delivery.refresh_from_db()

    assert delivery.status == "pending"
    assert delivery.next_attempt_at >= before + timedelta(seconds=119)
    time.sleep(0.3)
    assert dispatch.deliver_due() == 0  # not due although the schedule says 0.2 s


def test_an_endpoint_failing_for_five_days_is_disabled_with_a_reason(
        owner, environment, receiver, fast_retries, sync_tasks):
    endpoint = create_endpoint(owner, receiver.url())
    WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(
        failing_since=timezone.now() - timedelta(days=5, minutes=1))
    receiver.default = 500
    emit(environment)

    shown = owner.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").json()
    assert shown["enabled"] is False
    assert "5 days" in shown["disabled_reason"]


def test_the_guard_refuses_a_private_target_at_send_time_and_does_not_retry(
        owner, environment, receiver, fast_retries, sync_tasks, settings):
    create_endpoint(owner, receiver.url())
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    delivery = WebhookDelivery.objects.get(event=emit(environment))
    delivery.refresh_from_db()

    assert receiver.requests == []
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("dead", 1, None)
    assert "private or local" in delivery.attempt_log.get().error


def test_an_endpoint_whose_name_now_resolves_to_a_private_address_is_dead_lettered_at_once(
        owner, environment, fast_retries, sync_tasks, settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    answers = {"hooks.example.com": ["93.184.215.14"]}
    monkeypatch.setattr(outbound, "resolve", lambda host, port: answers[host])
    endpoint = create_endpoint(owner, "https://hooks.example.com/kino")
    answers["hooks.example.com"] = ["10.1.2.3"]  # the customer's DNS changed since

    delivery = WebhookDelivery.objects.get(event=emit(environment))
    delivery.refresh_from_db()

    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("dead", 1, None)
    error = delivery.attempt_log.get().error
    assert error.startswith("Address refused: ")
    assert "resolves to 10.1.2.3, which is private" in error
    assert dispatch.deliver_due() == 0  # nothing left to retry
    shown = owner.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries").json()["data"]
    assert [(d["status"], d["attempts"][0]["error"]) for d in shown] == [("dead", error)]


def test_two_workers_cannot_claim_the_same_delivery(environment, db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    WebhookEndpoint.objects.create(environment=environment, url="http://127.0.0.2:9/", events=["*"])
    event = emit(environment)  # on_commit never fires here: nothing is sent
    delivery = WebhookDelivery.objects.get(event=event)

    first = dispatch.claim(delivery.id)
    assert first is not None and first.status == "delivering"
    assert dispatch.claim(delivery.id) is None

    # A worker lost past its claim: another takes over, and the first one's result is dropped.
    WebhookDelivery.objects.filter(pk=delivery.id).update(
        claim_expires_at=timezone.now() - timedelta(seconds=1))
    second = dispatch.claim(delivery.id)
    assert second is not None and second.claim_token != first.claim_token
    assert second.attempts == 2
    ok = dispatch.Outcome(True, 200, 5, "", "")
    assert dispatch.record(first, ok, timezone.now()) is None
    assert dispatch.record(second, ok, timezone.now()) == "succeeded"
    assert WebhookDelivery.objects.get(pk=delivery.id).attempt_log.count() == 1


def test_the_outbox_writes_deliveries_in_the_domain_transaction(environment, db, settings):
    WebhookEndpoint.objects.create(environment=environment, url="http://example.com/a",
                                   events=["video.asset.ready"])
    WebhookEndpoint.objects.create(environment=environment, url="http://example.com/b",
                                   events=["*"])
    WebhookEndpoint.objects.create(environment=environment, url="http://example.com/c",
                                   events=["*"], enabled=False)

    first = emit(environment, "video.asset.ready", object_id="ast_one")
    second = emit(environment, "video.asset.updated", object_id="ast_one")
    assert (first.sequence, second.sequence) == (1, 2)
    assert emit(environment, object_id="ast_two").sequence == 1
    assert first.deliveries.count() == 2 and second.deliveries.count() == 1

    with pytest.raises(RuntimeError), transaction.atomic():
        emit(environment, object_id="ast_three")
        raise RuntimeError("the change fails")
    assert not Event.objects.filter(object_id="ast_three").exists()
    assert not WebhookDelivery.objects.filter(event__object_id="ast_three").exists()


def test_a_disabled_endpoint_is_enabled_again_and_its_dead_deliveries_replayed(
        owner, environment, receiver, fast_retries, sync_tasks):
    endpoint = create_endpoint(owner, receiver.url())
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    receiver.default = 410
    delivery = WebhookDelivery.objects.get(event=emit(environment))

    response = owner.post(f"/api/v1/webhook-deliveries/{delivery.id}/retry")
    assert response.status_code == 409 and response.json()["code"] == "endpoint_disabled"
    assert owner.post(f"{path}/replay-dead").status_code == 409

    receiver.default = 200
    enabled = owner.patch(path, {"enabled": True}, format="json").json()
    assert enabled["enabled"] is True and enabled["disabled_reason"] == ""
    assert owner.post(f"{path}/replay-dead").json()["queued"] == [delivery.id]
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    verify(endpoint["secret"], receiver.delivered[0])
