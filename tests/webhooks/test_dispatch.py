"""How deliveries reach the workers: one wake-up per burst, draining, prompt retries."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from webhooks import dispatch, services
from webhooks.models import DispatchWakeup, WebhookDelivery, WebhookEndpoint

from .conftest import emit


def queued(monkeypatch, module) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(module, "enqueue", lambda func, *args, **kw: calls.append((func, *args)))
    return calls


def test_commits_queue_one_wakeup_until_it_starts(environment, transactional_db, receiver,
                                                   fast_retries, monkeypatch):
    WebhookEndpoint.objects.create(environment=environment, url=receiver.url(), events=["*"])
    calls = queued(monkeypatch, services)

    for i in range(3):
        emit(environment, object_id=f"ast_{i}")
    assert calls == [(services.DRAIN,)]  # the first commit's task has not started yet

    assert dispatch.drain_woken() == 3  # it clears the wake-up, then sends every due one
    assert len(receiver.delivered) == 3
    emit(environment, object_id="ast_next")
    assert calls == [(services.DRAIN,), (services.DRAIN,)]


def test_a_wakeup_that_never_started_stops_counting_after_a_few_seconds(
        environment, transactional_db, receiver, fast_retries, monkeypatch):
    WebhookEndpoint.objects.create(environment=environment, url=receiver.url(), events=["*"])
    calls = queued(monkeypatch, services)
    DispatchWakeup.objects.create(pk=1, queued_at=timezone.now() - timedelta(seconds=6))

    emit(environment)

    assert calls == [(services.DRAIN,)]


def test_a_task_sends_its_delivery_then_the_others_that_are_due_oldest_first(
        environment, db, receiver, fast_retries, monkeypatch):
    endpoint = WebhookEndpoint.objects.create(environment=environment, url=receiver.url(),
                                              events=["*"])
    events = [emit(environment, object_id=f"ast_{i}") for i in range(4)]
    deliveries = [e.deliveries.get() for e in events]
    now = timezone.now()
    for age, delivery in zip([1, 3, 2, 0], deliveries, strict=True):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=now - timedelta(seconds=age))
    # Not due, being sent by another worker, or for a disabled endpoint: not sent here.
    later = emit(environment, object_id="ast_later").deliveries.get()
    WebhookDelivery.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(hours=1))
    busy = emit(environment, object_id="ast_busy").deliveries.get()
    assert dispatch.claim(busy.pk) is not None

    assert dispatch.deliver(deliveries[3].pk) == "succeeded"

    sent = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert sent == [events[i].id for i in (3, 1, 2, 0)]
    assert WebhookDelivery.objects.get(pk=later.pk).status == "pending"
    assert WebhookDelivery.objects.get(pk=busy.pk).attempts == 1
    assert all(d.attempt_log.count() == 1 for d in WebhookDelivery.objects.filter(
        endpoint=endpoint, status="succeeded"))


def test_workers_draining_at_once_send_each_delivery_once(environment, transactional_db,
                                                          receiver, fast_retries, monkeypatch):
    WebhookEndpoint.objects.create(environment=environment, url=receiver.url(), events=["*"])
    queued(monkeypatch, services)
    for i in range(60):
        emit(environment, object_id=f"ast_{i % 7}")
    receiver.delay = 0.002
    errors: list[BaseException] = []

    def worker():
        try:
            dispatch.drain_due()
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    received = Counter(r["headers"]["webhook-id"] for r in receiver.requests)
    assert len(received) == 60 and set(received.values()) == {1}
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("succeeded", 1)}


def test_a_short_retry_gets_a_task_that_waits_for_it(environment, db, receiver, fast_retries,
                                                     monkeypatch):
    fast_retries.WEBHOOK_RETRY_SCHEDULE = "0,1,600"
    fast_retries.WEBHOOK_PROMPT_RETRY_SECONDS = 10
    WebhookEndpoint.objects.create(environment=environment, url=receiver.url(), events=["*"])
    delivery = emit(environment).deliveries.get()
    calls: list[tuple] = []
    monkeypatch.setattr(dispatch, "enqueue_on_commit",
                        lambda func, *args, **kw: calls.append((func, *args)))
    receiver.script = [500, 500]

    assert dispatch.deliver(delivery.pk, drain=False) == "pending"  # retry in 1 s
    assert calls == [(dispatch.DELIVER_WHEN_DUE, delivery.pk, 1)]

    started = time.monotonic()
    assert dispatch.deliver_when_due(delivery.pk, 1) == "pending"  # failed again: 600 s
    assert 0.8 <= time.monotonic() - started < 3
    assert len(calls) == 1  # 600 s is the schedule's business

    # A task for an attempt that already happened returns at once.
    started = time.monotonic()
    assert dispatch.deliver_when_due(delivery.pk, 1) is None
    assert time.monotonic() - started < 0.5
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 2
