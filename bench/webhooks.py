#!/usr/bin/env python
"""Webhook benchmark: deliveries/s and commit-to-receipt latency.

Runs on a fresh SQLite database in a temporary VAR_DIR: one webhook endpoint pointing
at a threaded receiver on 127.0.0.2 (answers 200 at once), `--workers` worker processes
(one `qcluster` with that many workers), and `--events` events, each emitted in its own
transaction as a domain service would. For each event it records the commit time and
the time the receiver got it; it prints deliveries/s (first commit to last receipt) and
the p50/p99 commit-to-receipt latency, plus how many events arrived more than once.

    .venv/bin/python bench/webhooks.py [--events 1000] [--workers 4] [--timeout 300]

The ORM broker polls every 0.2 s, so latency includes the poll; with REDIS_URL set the
workers use Redis instead.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="kino-bench-webhooks-"))
    env = {**os.environ, "VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "config.settings",
           "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true", "WORKERS": str(args.workers),
           "DEBUG": "false", "SECRET_KEY": "bench-" + "x" * 50}
    os.environ.update(env)

    import django

    django.setup()
    import logging

    logging.getLogger("django-q").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import transaction

    from foundation.context import Actor
    from media_core.services.api_keys import environment_get_or_create
    from tests.webhooks.receiver import receiver as start_receiver
    from webhooks.models import WebhookDelivery, WebhookEndpoint
    from webhooks.services import event_emit

    call_command("migrate", verbosity=0)
    environment = environment_get_or_create(name="bench", actor=Actor.system("bench"))
    log = open(var / "worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with start_receiver() as receiver:
            WebhookEndpoint.objects.create(environment=environment, url=receiver.url(),
                                           events=["*"])
            time.sleep(2)  # the cluster starts its workers
            committed: dict[str, float] = {}
            for i in range(args.events):
                with transaction.atomic():
                    event = event_emit(environment_id=environment.id, type="video.asset.updated",
                                       object_type="asset", object_id=f"ast_bench{i % 50}",
                                       data={"n": i, "title": f"Bench {i}"})
                committed[event.id] = time.time()  # the block above has committed
            emitted_at = time.time()
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                if len({r["headers"]["webhook-id"] for r in receiver.delivered}) >= args.events:
                    break
                time.sleep(0.05)
            first_seen: dict[str, float] = {}
            for request in receiver.delivered:
                first_seen.setdefault(request["headers"]["webhook-id"], request["received_at"])
            copies = Counter(r["headers"]["webhook-id"] for r in receiver.delivered)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)

    missing = set(committed) - set(first_seen)
    latencies = [first_seen[e] - committed[e] for e in first_seen if e in committed]
    start = min(committed.values())
    end = max(first_seen.values()) if first_seen else start
    print(f"events: {args.events}, workers: {args.workers}, "
          f"broker: {'redis' if os.environ.get('REDIS_URL') else 'orm (sqlite)'}")
    print(f"emitting took {emitted_at - start:.2f} s "
          f"({args.events / max(emitted_at - start, 1e-9):.0f} events/s committed)")
    print(f"delivered: {len(first_seen)}/{args.events} in {end - start:.2f} s "
          f"= {len(first_seen) / max(end - start, 1e-9):.1f} deliveries/s")
    if latencies:
        print(f"commit -> receipt: p50 {percentile(latencies, 50) * 1000:.0f} ms, "
              f"p99 {percentile(latencies, 99) * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms, mean {statistics.mean(latencies) * 1000:.0f} ms")
    print(f"received twice or more: {sum(1 for n in copies.values() if n > 1)}; "
          f"deliveries not succeeded: "
          f"{WebhookDelivery.objects.exclude(status='succeeded').count()}")
    if missing:
        sys.exit(f"{len(missing)} events never arrived; worker log: {var / 'worker.log'}")


if __name__ == "__main__":
    main()
