"""A worker killed in the middle of a burst of webhooks: every event still arrives."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from django.db import transaction

from tests.webhooks.receiver import receiver as start_receiver
from webhooks import dispatch
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import event_emit

pytestmark = pytest.mark.e2e

EVENTS = 150


def test_a_worker_killed_mid_burst_loses_no_event(platform, environment, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    platform.env.update({"WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
                         "WEBHOOK_RETRY_SCHEDULE": "0,0.5,0.5,0.5,0.5,0.5",
                         "WEBHOOK_TIMEOUT_SECONDS": "1"})
    with start_receiver() as receiver:
        receiver.delay = 0.02  # a receiver that takes a moment: the worker is busy when it dies
        WebhookEndpoint.objects.create(environment=environment, url=receiver.url(), events=["*"])
        worker = platform.start_worker()
        emitted = []
        for i in range(EVENTS):
            with transaction.atomic():  # each commit queues its delivery
                emitted.append(event_emit(environment_id=environment.id, type="video.asset.updated",
                                          object_type="asset", object_id=f"ast_{i % 10}",
                                          data={"n": i}).id)

        deadline = time.monotonic() + 60
        while len(receiver.requests) < EVENTS // 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(receiver.requests) >= EVENTS // 4, platform.log("worker.log")
        platform.kill_worker(worker)
        at_kill = len(receiver.delivered)
        assert at_kill < EVENTS, "the burst ended before the worker could be killed"
        in_flight = WebhookDelivery.objects.exclude(status="succeeded").count()

        platform.start_worker()
        # What the every-minute schedule does: queue what is due, and claims that ran out
        # (the dead worker's, after 2 x 1 s + 5 s).
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if not WebhookDelivery.objects.exclude(status="succeeded").exists():
                break
            dispatch.deliver_due()
            time.sleep(1)

        left = list(WebhookDelivery.objects.exclude(status="succeeded").values_list("status", flat=True))
        assert left == [], (Counter(left), platform.log("worker.log"))
        received = Counter(r["headers"]["webhook-id"] for r in receiver.delivered)
        assert set(received) == set(emitted)  # every event, nothing else
        duplicates = sum(n - 1 for n in received.values())
        bodies = {json.loads(r["body"])["id"] for r in receiver.delivered}
        assert bodies == set(emitted)
        print(f"{EVENTS} events; {at_kill} delivered before the kill, {in_flight} still owed; "
              f"{duplicates} delivered twice")
        assert duplicates <= in_flight
