from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.db import transaction

from tests.clips import make_clip
from webhooks import dispatch
from webhooks.models import WebhookDelivery
from webhooks.services import event_emit

from .receiver import receiver as start_receiver

FAST = "0,0.2,0.2,0.2"


@pytest.fixture
def fast_retries(settings):
    """Four attempts, 0.2 s apart, and receivers on loopback allowed.

    Retries wait for the schedule (drive() plays it), not for a task of their own, so a
    test sees one attempt at a time even when tasks run in-process.
    """
    settings.WEBHOOK_RETRY_SCHEDULE = FAST
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_PROMPT_RETRY_SECONDS = 0
    return settings


@pytest.fixture
def receiver():
    with start_receiver() as server:
        yield server


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4")


def create_endpoint(client, url: str, events=("*",)) -> dict:
    response = client.post("/api/v1/webhook-endpoints", {"url": url, "events": list(events)},
                           format="json")
    assert response.status_code == 201, response.content
    return response.json()


def emit(environment, type: str = "video.asset.updated", object_id: str = "ast_test"):
    with transaction.atomic():
        return event_emit(environment_id=environment.id, type=type, object_type="asset",
                          object_id=object_id, data={"id": object_id, "title": "x"})


def drive(delivery_id: str, *, until=("succeeded", "dead"), rounds: int = 20) -> WebhookDelivery:
    """Run the due-deliveries task as the schedule would, until the delivery settles."""
    for _ in range(rounds):
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        if delivery.status in until:
            return delivery
        time.sleep(0.25)
        dispatch.deliver_due()
    raise AssertionError(f"{delivery_id} still {delivery.status}")
