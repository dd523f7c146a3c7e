"""Prometheus metrics: one set of families for every process of the platform.

Each process (gunicorn or daphne workers, qcluster workers, the live ingest) counts in
files of its own under PROMETHEUS_MULTIPROC_DIR (config/operations.py); GET /metrics
adds up every file of the machine (prometheus-client's multiprocess mode), so one scrape
sees the web, task and ingest processes together, and a count survives its process.

Figures that are states rather than events (jobs queued, streams live, endpoints
failing) are read from the database at scrape time by the apps' `gauge_source`s, so
they are right whichever machine asks. No label takes an unbounded value: no asset,
stream or key ids, routes as their URL pattern.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# Seconds: from a 5 ms API read to a two-hour encode.
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_SLOW = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)

# --- uploads ------------------------------------------------------------------------
UPLOADS_CREATED = Counter("kino_uploads_created_total", "Upload URLs handed out.")
UPLOADS_COMPLETED = Counter("kino_uploads_completed_total",
                            "Uploads whose file arrived whole and became an asset.",
                            ["protocol"])  # put | tus
UPLOADS_ABANDONED = Counter("kino_uploads_abandoned_total",
                            "Uploads that ended without a file: the URL expired or it was "
                            "cancelled.", ["reason"])  # timed_out | cancelled
UPLOADS_RESUMED = Counter("kino_uploads_resumed_total",
                          "tus uploads a client resumed: it asked for the offset of an "
                          "upload that already held bytes.")
UPLOADS_REFUSED = Counter("kino_uploads_refused_total",
                          "Upload requests whose bytes were refused.", ["reason"])
UPLOAD_BYTES = Counter("kino_upload_bytes_total", "Bytes received and kept by uploads.",
                       ["protocol"])

# --- processing ---------------------------------------------------------------------
TASK_QUEUE_SECONDS = Histogram("kino_processing_queue_seconds",
                               "From a task's enqueueing to a worker starting it.",
                               ["job_type"], buckets=_SLOW)
TASK_SECONDS = Histogram("kino_processing_duration_seconds",
                         "A task's run on a worker, by how it ended.",
                         ["job_type", "outcome"], buckets=_SLOW)
PROCESSING_FAILURES = Counter("kino_processing_failures_total",
                              "Failed processing attempts by the error type they ended with "
                              "(errors.type of the asset when it was the last attempt).",
                              ["job_type", "error_type", "final"])

# --- webhooks -----------------------------------------------------------------------
WEBHOOK_DELIVERIES = Counter("kino_webhook_deliveries_total",
                             "Delivery attempts by outcome.", ["outcome"])  # succeeded | failed
WEBHOOK_LATENCY = Histogram("kino_webhook_delivery_seconds",
                            "From sending a delivery to the receiver's answer (or error).",
                            buckets=_FAST + (30,))
WEBHOOK_RETRIES = Counter("kino_webhook_retries_total",
                          "Failed attempts followed by a scheduled retry.")
WEBHOOK_DEAD_LETTERS = Counter("kino_webhook_dead_letters_total",
                               "Deliveries given up on (dead): retries exhausted, 410 Gone, "
                               "or an address that is not allowed.")

# --- live ---------------------------------------------------------------------------
LIVE_CONNECTS = Counter("kino_live_connects_total",
                        "Encoders let in to publish.", ["protocol"])  # rtmp | srt
LIVE_REFUSED = Counter("kino_live_publish_refused_total",
                       "Encoders refused (wrong key, disabled stream, another encoder).")
LIVE_DISCONNECTS = Counter("kino_live_disconnects_total",
                           "Publishing sessions that ended.", ["reason"])
LIVE_BITRATE = Histogram("kino_live_ingest_bitrate_bits_per_second",
                         "Ingest bitrate of publishing streams, one observation per health "
                         "sample.",
                         buckets=(250e3, 500e3, 1e6, 2e6, 3e6, 4.5e6, 6e6, 8e6, 12e6, 20e6))
LIVE_RECORDINGS = Counter("kino_live_recordings_total",
                          "Live runs' recordings by how joining them ended.", ["outcome"])

# --- playback -----------------------------------------------------------------------
PLAYBACK_TOKENS = Counter("kino_playback_tokens_checked_total",
                          "Signed playback tokens checked.", ["outcome"])  # accepted | refused
PLAYBACK_REFUSALS = Counter("kino_playback_refusals_total",
                            "Playback requests refused, by reason.", ["reason"])
DELIVERY_BYTES = Counter("kino_delivery_bytes_total",
                         "Bytes of media the platform's own processes sent to viewers "
                         "(nginx delivery counts its own).", ["kind"])

# --- storage ---------------------------------------------------------------------------
STORAGE_ORPHANS_DELETED_BYTES = Counter(
    "kino_storage_orphans_deleted_bytes_total",
    "Bytes of objects no row owned, deleted by the orphan sweep (a leak, if it grows).")

# --- HTTP ---------------------------------------------------------------------------
HTTP_REQUESTS = Counter("kino_http_requests_total", "HTTP requests answered.",
                        ["route", "method", "status"])
HTTP_SECONDS = Histogram("kino_http_request_duration_seconds",
                         "From a request reaching the platform to its response.",
                         ["route", "method"], buckets=_FAST)


def _zero(counter: Counter, *label_values: str) -> None:
    """Show a known label value at 0 before its first count: a rate over a series that
    appears only at its first event misses that event."""
    for value in label_values:
        counter.labels(value)


_zero(UPLOADS_COMPLETED, "put", "tus")
_zero(UPLOAD_BYTES, "put", "tus")
_zero(UPLOADS_ABANDONED, "timed_out", "cancelled")
_zero(UPLOADS_REFUSED, "file_too_large", "upload_length_exceeded", "checksum_mismatch",
      "empty_file")
_zero(WEBHOOK_DELIVERIES, "succeeded", "failed")
_zero(LIVE_CONNECTS, "rtmp", "srt")
_zero(LIVE_DISCONNECTS, "stopped", "lost")
_zero(LIVE_RECORDINGS, "stored", "no_media", "failed")
_zero(PLAYBACK_TOKENS, "accepted", "refused")
_zero(DELIVERY_BYTES, "playlist", "segment", "text", "download", "image")


# --- tasks: every function a worker runs, timed from django-q2's signals -------------
def job_type(func) -> str:
    name = func if isinstance(func, str) else getattr(func, "__name__", "unknown")
    return name.rsplit(".", 1)[-1]


def task_started(sender, func=None, task=None, **kwargs) -> None:
    task["_metrics_began"] = time.monotonic()
    enqueued = task.get("started")  # django-q2 stamps it when the task is queued
    if enqueued is not None:
        TASK_QUEUE_SECONDS.labels(job_type(task["func"])).observe(
            max((timezone.now() - enqueued).total_seconds(), 0.0))


def task_finished(sender, func=None, task=None, **kwargs) -> None:
    began = task.pop("_metrics_began", None)
    if began is not None:
        outcome = "succeeded" if task.get("success", True) else "failed"
        TASK_SECONDS.labels(job_type(task["func"]), outcome).observe(time.monotonic() - began)


def connect_task_signals() -> None:
    from django_q.signals import post_execute_in_worker, pre_execute

    pre_execute.connect(task_started, dispatch_uid="kino-metrics-task-started")
    post_execute_in_worker.connect(task_finished, dispatch_uid="kino-metrics-task-finished")


def on_commit(count: Callable[[], object]) -> None:
    """Count once the transaction commits: a rolled-back change did not happen."""
    transaction.on_commit(count)


# --- figures read at scrape time ------------------------------------------------------
GaugeSource = Callable[[], Iterable[GaugeMetricFamily]]
_gauge_sources: list[GaugeSource] = []


def gauge_source(fn: GaugeSource) -> GaugeSource:
    """Register a function that yields gauges read at scrape time (an app's ready())."""
    if fn not in _gauge_sources:
        _gauge_sources.append(fn)
    return fn


class _StateCollector(Collector):
    def collect(self):
        for source in _gauge_sources:
            try:
                yield from source()
            except Exception:  # one broken source must not hide the others
                log.exception("metrics source %s failed", getattr(source, "__name__", source))


def gauge(name: str, documentation: str, values: dict[tuple[str, ...], float] | float,
          labels: Iterable[str] = ()) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    if isinstance(values, dict):
        for label_values, value in values.items():
            family.add_metric(list(label_values), value)
    else:
        family.add_metric([], values)
    return family


@gauge_source
def queue_gauges():
    from django_q.brokers import get_broker

    yield gauge("kino_task_queue_depth", "Tasks waiting in the queue for a worker.",
                get_broker().queue_size() or 0)


def exposition(accept: str = "") -> tuple[bytes, str]:
    """The scrape's body and content type, in the format the scraper asks for (Accept)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(_StateCollector())
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


@never_cache
def metrics_view(request):
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            response = HttpResponse("Send Authorization: Bearer <METRICS_TOKEN>.\n",
                                    status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    body, content_type = exposition(request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)


# --- HTTP requests --------------------------------------------------------------------
class MetricsMiddleware:
    """Count every request by its URL pattern (not its path), method and status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = request.resolver_match
        route = match.route if match is not None else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        HTTP_SECONDS.labels(route, method).observe(elapsed)
        if match is not None and match.url_name in _DELIVERY_KINDS:
            kind = _DELIVERY_KINDS[match.url_name]
            size = _body_size(response)
            if size and method != "HEAD" and 200 <= response.status_code < 300:
                DELIVERY_BYTES.labels(kind(match) if callable(kind) else kind).inc(size)
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _child_kind(match) -> str:
    path = match.kwargs.get("path", "")
    if path.endswith(".m3u8"):
        return "playlist"
    return "text" if path.endswith(".vtt") else "segment"


_DELIVERY_KINDS: dict[str, str | Callable] = {
    "playback-master": "playlist",
    "playback-child": _child_kind,
    "playback-download": "download",
    "playback-thumbnail": "image",
    "playback-gif": "image",
    "playback-storyboard": "image",
    "playback-storyboard-image": "image",
}


def _body_size(response) -> int:
    length = response.get("Content-Length")
    if length and length.isdigit():
        return int(length)
    if response.streaming:
        return 0
    return len(response.content)
