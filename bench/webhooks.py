#!/usr/bin/env python
"""Webhook benchmark: deliveries/s and commit-to-receipt latency.

Runs on a fresh database (SQLite in a temporary VAR_DIR; with DATABASE_URL pointing at
PostgreSQL, a new database beside the named one, dropped afterwards): one webhook
endpoint pointing at a threaded receiver on 127.0.0.2 (answers 200 at once), one
`qcluster` with `--workers` workers, and two phases of `--events` events each, every
event emitted in its own transaction as a domain service would:

- burst: the events are committed as fast as one process can; latency is mostly time
  spent queued behind the burst, so it measures throughput;
- steady: the events are committed at `--rate` per second, below what the workers
  deliver; latency is what a receiver sees from a platform that keeps up.

For each phase it prints the commit rate, deliveries/s (first commit to last receipt),
p50/p99 commit-to-receipt latency and how many events arrived more than once.

    .venv/bin/python bench/webhooks.py [--events 1000] [--rate 50] [--workers 4]
        [--phases burst,steady] [--idle-wait 60]

With REDIS_URL set the workers use Redis as the broker (the queue is named for this run,
so other clusters on the same Redis take none of its tasks); otherwise django-q2's ORM
broker, which polls every 0.2 s.
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
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import IDLE_CORES, cpu_model, machine_busy, wait_idle  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def fresh_postgres(url: str) -> tuple[str, str, str] | None:
    """(url of a new database, its name, url to administer it from), or None for SQLite."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return None
    name = f"kino_bench_webhooks_{os.getpid()}"
    return urlunsplit(parts._replace(path=f"/{name}")), name, url


def _admin_sql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(sql)


def run_phase(name: str, args, environment, receiver, rate: float | None) -> dict:
    from django.db import transaction

    from webhooks.services import event_emit

    seen_before = len(receiver.requests)
    committed: dict[str, float] = {}
    busy_before, started = machine_busy(), time.monotonic()
    first = time.time()
    for i in range(args.events):
        if rate:
            delay = first + i / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        with transaction.atomic():
            event = event_emit(environment_id=environment.id, type="video.asset.updated",
                               object_type="asset", object_id=f"ast_{name}{i % 50}",
                               data={"n": i, "title": f"Bench {i}"})
        committed[event.id] = time.time()  # the block above has committed
    emitted_at = time.time()
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        requests = receiver.requests[seen_before:]
        if len({r["headers"]["webhook-id"] for r in requests} & committed.keys()) >= args.events:
            break
        time.sleep(0.05)
    cpus = (machine_busy() - busy_before) / max(time.monotonic() - started, 1e-9)
    requests = [r for r in receiver.delivered if r["headers"]["webhook-id"] in committed]
    first_seen: dict[str, float] = {}
    for request in requests:
        first_seen.setdefault(request["headers"]["webhook-id"], request["received_at"])
    copies = Counter(r["headers"]["webhook-id"] for r in requests)
    latencies = [first_seen[e] - committed[e] for e in first_seen]
    start = min(committed.values())
    end = max(first_seen.values()) if first_seen else start
    return {"name": name, "committed": committed, "first_seen": first_seen,
            "emitting": emitted_at - start, "span": end - start, "latencies": latencies,
            "twice": sum(1 for n in copies.values() if n > 1), "cpus": cpus}


def report(phase: dict, events: int) -> None:
    emitting, span, latencies = phase["emitting"], phase["span"], phase["latencies"]
    delivered = len(phase["first_seen"])
    print(f"[{phase['name']}] committed {events} events in {emitting:.2f} s "
          f"({events / max(emitting, 1e-9):.0f}/s); delivered {delivered}/{events} in "
          f"{span:.2f} s = {delivered / max(span, 1e-9):.1f} deliveries/s; "
          f"machine busy {phase['cpus']:.2f} CPUs")
    if latencies:
        print(f"[{phase['name']}] commit -> receipt: p50 {percentile(latencies, 50) * 1000:.0f} ms, "
              f"p99 {percentile(latencies, 99) * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms, "
              f"mean {statistics.mean(latencies) * 1000:.0f} ms; "
              f"received twice or more: {phase['twice']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="events per phase")
    parser.add_argument("--rate", type=float, default=50, help="events/s in the steady phase")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--phases", default="burst,steady")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--idle-wait", type=float, default=60,
                        help="wait up to this long for a quiet machine first (0: don't)")
    args = parser.parse_args()
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not set(phases) <= {"burst", "steady"}:
        parser.error("--phases: burst, steady or both")

    var = Path(tempfile.mkdtemp(prefix="kino-bench-webhooks-"))
    env = {**os.environ, "VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "config.settings",
           "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true", "WORKERS": str(args.workers),
           "Q_CLUSTER_NAME": f"kino-bench-webhooks-{os.getpid()}",
           "DEBUG": "false", "SECRET_KEY": "bench-" + "x" * 50}
    postgres = fresh_postgres(os.environ.get("DATABASE_URL", ""))
    if postgres:
        env["DATABASE_URL"] = postgres[0]
        _admin_sql(postgres[2], f'CREATE DATABASE "{postgres[1]}"')
    os.environ.update(env)

    busy = wait_idle(args.idle_wait)
    if busy is not None and busy > IDLE_CORES:
        print(f"note: the machine was still busy ({busy:.2f} CPUs in use) when the run started")

    import django

    django.setup()
    import logging

    logging.getLogger("django-q").setLevel(logging.WARNING)
    logging.getLogger("kino").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import connections

    from foundation.context import Actor
    from foundation.tenancy import environment_get_or_create
    from tests.webhooks.receiver import receiver as start_receiver
    from webhooks.models import WebhookDelivery, WebhookEndpoint

    call_command("migrate", verbosity=0)
    environment = environment_get_or_create(name="bench", actor=Actor.system("bench"))
    log = open(var / "worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    results = []
    try:
        with start_receiver() as receiver:
            WebhookEndpoint.objects.create(environment=environment, url=receiver.url(),
                                           events=["*"])
            time.sleep(2)  # the cluster starts its workers
            for name in phases:
                results.append(run_phase(name, args, environment, receiver,
                                         args.rate if name == "steady" else None))
                time.sleep(1)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        not_succeeded = WebhookDelivery.objects.exclude(status="succeeded").count()
        connections.close_all()
        if postgres:
            _admin_sql(postgres[2], f'DROP DATABASE IF EXISTS "{postgres[1]}" WITH (FORCE)')

    database = "postgresql" if postgres else "sqlite"
    broker = "redis" if os.environ.get("REDIS_URL") else f"orm ({database})"
    print(f"{cpu_model()}, {os.cpu_count()} CPUs; events: {args.events} per phase, "
          f"workers: {args.workers}, broker: {broker}, database: {database}"
          + (f", steady rate {args.rate:g}/s" if "steady" in phases else ""))
    missing = 0
    for phase in results:
        report(phase, args.events)
        missing += args.events - len(phase["first_seen"])
    print(f"deliveries not succeeded at the end: {not_succeeded}")
    if missing:
        sys.exit(f"{missing} events never arrived; worker log: {var / 'worker.log'}")


if __name__ == "__main__":
    main()
