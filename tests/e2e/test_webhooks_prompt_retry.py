"""A retry due in 2 s is sent about 2 s later by a real worker, not at the next minute."""

from __future__ import annotations

import time

import pytest

from tests.webhooks.conftest import emit
from tests.webhooks.receiver import receiver as start_receiver
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.e2e


def test_a_retry_due_in_two_seconds_is_sent_when_due(platform, environment, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    platform.env.update({"WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
                         "WEBHOOK_RETRY_SCHEDULE": "0,2,3600"})
    with start_receiver() as receiver:
        receiver.script = [503]
        WebhookEndpoint.objects.create(environment=environment, url=receiver.url(), events=["*"])
        platform.start_worker()
        time.sleep(1)  # the cluster starts its workers
        delivery = emit(environment).deliveries.get()

        deadline = time.monotonic() + 15
        while len(receiver.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)

        assert [r["status"] for r in receiver.requests] == [503, 200], platform.log("worker.log")
        waited = receiver.requests[1]["received_at"] - receiver.requests[0]["received_at"]
        assert 1.8 - 0.1 <= waited < 4, waited  # 2 s ±10 % jitter, plus a poll of the queue
        while time.monotonic() < deadline:  # the worker records what the receiver answered
            delivery.refresh_from_db()
            if delivery.status != "delivering":
                break
            time.sleep(0.02)
        assert delivery.status == "succeeded" and delivery.attempts == 2
        assert [a.status_code for a in delivery.attempt_log.all()] == [503, 200]
        assert not WebhookDelivery.objects.exclude(status="succeeded").exists()
