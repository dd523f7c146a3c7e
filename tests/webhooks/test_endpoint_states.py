"""State changes of endpoints and deliveries: checked, compare-and-swapped, audited, announced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from foundation.context import Actor
from foundation.errors import InvalidTransition
from foundation.models import AuditEntry
from tests.api.conftest import assert_problem
from webhooks import services
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

from .conftest import create_endpoint, emit

SUPPORT = Actor.system("support")


def _disabled_trail(endpoint_id: str) -> tuple[AuditEntry, Event]:
    entry = AuditEntry.objects.get(object_id=endpoint_id, action="webhook_endpoint.disabled")
    event = Event.objects.get(object_id=endpoint_id, type="webhook_endpoint.disabled")
    return entry, event


def test_an_endpoint_answering_410_is_disabled_with_an_audit_entry_and_an_event(
        owner, environment, receiver, fast_retries, sync_tasks):
    gone = create_endpoint(owner, receiver.url("/gone"), events=["video.asset.updated"])
    watcher = create_endpoint(owner, receiver.url("/watcher"), events=["webhook_endpoint.disabled"])
    receiver.script = [410]  # the first request, to /gone; the watcher gets 200

    emit(environment)

    entry, event = _disabled_trail(gone["id"])
    assert (entry.actor_type, entry.actor_label) == ("system", "webhook dispatch")
    assert entry.changes == {"enabled": [True, False]}
    assert "410" in entry.message
    assert event.object_type == "webhook_endpoint"
    assert event.data["id"] == gone["id"]
    assert event.data["enabled"] is False and "410" in event.data["disabled_reason"]
    # The environment's other endpoints hear of it; the disabled one does not.
    assert WebhookDelivery.objects.get(event=event).endpoint_id == watcher["id"]


def test_an_endpoint_failing_for_days_is_disabled_with_an_audit_entry_and_an_event(
        owner, environment, receiver, fast_retries, sync_tasks):
    endpoint = create_endpoint(owner, receiver.url())
    WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(
        failing_since=timezone.now() - timedelta(days=5, minutes=1))
    receiver.default = 500

    emit(environment)

    entry, event = _disabled_trail(endpoint["id"])
    assert "5 days" in entry.message and "5 days" in event.data["disabled_reason"]


@pytest.mark.django_db
def test_an_endpoint_disabled_already_is_not_disabled_again(environment):
    endpoint = WebhookEndpoint.objects.create(environment=environment, url="https://h.example/")
    assert services.endpoint_auto_disable(endpoint=endpoint, reason="gone") is True

    stale = WebhookEndpoint.objects.get(pk=endpoint.pk)
    stale.enabled = True  # as a worker that read it before
    assert services.endpoint_auto_disable(endpoint=stale, reason="gone again") is False

    assert AuditEntry.objects.filter(object_id=endpoint.id).count() == 1
    assert Event.objects.filter(object_id=endpoint.id).count() == 1
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).disabled_reason == "gone"


@pytest.mark.django_db
def test_an_endpoint_that_recovered_meanwhile_is_not_disabled(environment):
    endpoint = WebhookEndpoint.objects.create(environment=environment, url="https://h.example/",
                                              failing_since=None)

    assert services.endpoint_auto_disable(
        endpoint=endpoint, reason="failing", failing_since_before=timezone.now()) is False
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).enabled is True
    assert not AuditEntry.objects.filter(object_id=endpoint.id).exists()


def _delivery(environment, status: str) -> WebhookDelivery:
    WebhookEndpoint.objects.create(environment=environment, url="https://h.example/",
                                   events=["*"])
    delivery = WebhookDelivery.objects.get(event=emit(environment))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=status)
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery.pk)


@pytest.mark.django_db
def test_a_delivery_being_sent_cannot_be_retried(owner, environment):
    delivery = _delivery(environment, WebhookDelivery.Status.DELIVERING)

    response = owner.post(f"/api/v1/webhook-deliveries/{delivery.id}/retry")

    assert_problem(response, 409, "invalid_state")
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "delivering"
    assert not AuditEntry.objects.filter(object_id=delivery.id).exists()


@pytest.mark.django_db
def test_a_retry_from_a_stale_copy_loses_the_compare_and_swap(environment):
    stale = _delivery(environment, WebhookDelivery.Status.DEAD)
    WebhookDelivery.objects.filter(pk=stale.pk).update(status=WebhookDelivery.Status.SUCCEEDED)

    with pytest.raises(InvalidTransition, match="changed meanwhile"):
        services.delivery_retry(delivery=stale, actor=SUPPORT)

    assert WebhookDelivery.objects.get(pk=stale.pk).status == "succeeded"
    assert not AuditEntry.objects.filter(object_id=stale.id).exists()


@pytest.mark.django_db
def test_a_dead_delivery_retried_goes_back_to_pending_with_its_audit_entry(environment):
    dead = _delivery(environment, WebhookDelivery.Status.DEAD)

    services.delivery_retry(delivery=dead, actor=SUPPORT)

    assert WebhookDelivery.objects.get(pk=dead.pk).status == "pending"
    entry = AuditEntry.objects.get(object_id=dead.id, action="webhook_delivery.retried")
    assert entry.changes == {"status": ["dead", "pending"]}
