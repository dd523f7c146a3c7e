"""GET /metrics: the families an operator watches, counted where things happen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from foundation import metrics
from media_core.models import ProcessingJob
from media_core.services.uploads import upload_cancel, uploads_time_out
from tests.api.conftest import create_upload, path_of
from tests.clips import make_clip
from tests.factories import asset_from_file, upload_for
from tests.metrics import own_sample

pytestmark = pytest.mark.django_db
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4")


def scrape(client, **headers) -> dict[str, list]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-cache" in response["Cache-Control"]
    return {family.name: family.samples
            for family in text_string_to_metric_families(response.content.decode())}


def test_metrics_lists_every_family_in_prometheus_text(anonymous):
    """Families whose labels are known show at 0 from the start; those by job type or
    route from their first observation (made here first)."""
    metrics.TASK_QUEUE_SECONDS.labels("process_asset").observe(1)
    metrics.TASK_SECONDS.labels("process_asset", "succeeded").observe(1)
    metrics.PROCESSING_FAILURES.labels("process_asset", "invalid_input", "true").inc()
    anonymous.get("/healthz")

    families = scrape(anonymous)

    for name in ("kino_uploads_created", "kino_uploads_completed", "kino_uploads_abandoned",
                 "kino_uploads_resumed", "kino_upload_bytes", "kino_processing_queue_seconds",
                 "kino_processing_duration_seconds", "kino_processing_failures",
                 "kino_webhook_deliveries", "kino_webhook_delivery_seconds",
                 "kino_webhook_retries", "kino_webhook_dead_letters", "kino_live_connects",
                 "kino_live_disconnects", "kino_live_ingest_bitrate_bits_per_second",
                 "kino_live_recordings", "kino_playback_tokens_checked",
                 "kino_playback_refusals", "kino_delivery_bytes", "kino_http_requests",
                 "kino_http_request_duration_seconds", "kino_processing_jobs",
                 "kino_task_queue_depth", "kino_live_streams_active",
                 "kino_webhook_endpoints_failing"):
        assert name in families, name


def test_metrics_token_is_asked_for_when_set(anonymous, settings):
    settings.METRICS_TOKEN = "s3cret-scrape"

    refused = anonymous.get("/metrics")
    wrong = anonymous.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")

    assert (refused.status_code, wrong.status_code) == (401, 401)
    assert refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "kino_http_requests" in scrape(anonymous, HTTP_AUTHORIZATION="Bearer s3cret-scrape")


def test_requests_are_counted_by_route_pattern_not_by_path(owner):
    before = own_sample("kino_http_requests_total", route="api/v1/assets/<str:asset_id>",
                        method="GET", status="404")

    owner.get("/api/v1/assets/ast_00000000000000000000000001")
    owner.get("/api/v1/assets/ast_00000000000000000000000002")

    after = own_sample("kino_http_requests_total", route="api/v1/assets/<str:asset_id>",
                       method="GET", status="404")
    assert after - before == 2
    assert own_sample("kino_http_request_duration_seconds_count",
                      route="api/v1/assets/<str:asset_id>", method="GET") >= 2


def test_upload_life_is_counted_created_resumed_refused_completed(
        owner, anonymous, clip, django_capture_on_commit_callbacks):
    names = ("kino_uploads_created_total", "kino_uploads_resumed_total")
    before = {n: own_sample(n) for n in names}
    bytes_before = own_sample("kino_upload_bytes_total", protocol="tus")
    refused_before = own_sample("kino_uploads_refused_total", reason="upload_length_exceeded")
    done_before = own_sample("kino_uploads_completed_total", protocol="tus")
    data = clip.read_bytes()

    with django_capture_on_commit_callbacks(execute=True):
        url = path_of(create_upload(owner)["url"])
    anonymous.post(url, HTTP_UPLOAD_LENGTH=str(len(data)), **TUS)
    half = len(data) // 2
    anonymous.generic("PATCH", url, data[:half], content_type="application/offset+octet-stream",
                      HTTP_UPLOAD_OFFSET="0", **TUS)
    # The client went away; it comes back, asks where it stands and sends too much.
    assert anonymous.head(url, **TUS)["Upload-Offset"] == str(half)
    too_much = anonymous.generic("PATCH", url, data[half:] + b"x",
                                 content_type="application/offset+octet-stream",
                                 HTTP_UPLOAD_OFFSET=str(half), **TUS)
    assert too_much.status_code == 413
    rest = anonymous.generic("PATCH", url, data[half:],
                             content_type="application/offset+octet-stream",
                             HTTP_UPLOAD_OFFSET=str(half), **TUS)
    assert rest.status_code == 204

    assert own_sample("kino_uploads_created_total") - before["kino_uploads_created_total"] == 1
    assert own_sample("kino_uploads_resumed_total") - before["kino_uploads_resumed_total"] == 1
    assert own_sample("kino_upload_bytes_total", protocol="tus") - bytes_before == len(data)
    assert own_sample("kino_uploads_refused_total",
                      reason="upload_length_exceeded") - refused_before == 1
    assert own_sample("kino_uploads_completed_total", protocol="tus") - done_before == 1


def test_abandoned_uploads_are_counted_by_reason(environment, django_capture_on_commit_callbacks):
    cancelled = own_sample("kino_uploads_abandoned_total", reason="cancelled")
    timed_out = own_sample("kino_uploads_abandoned_total", reason="timed_out")
    late = upload_for(environment)
    late.expires_at = timezone.now() - timedelta(seconds=1)
    late.save()

    with django_capture_on_commit_callbacks(execute=True):
        upload_cancel(upload=upload_for(environment), actor=metrics_actor())
        uploads_time_out()

    assert own_sample("kino_uploads_abandoned_total", reason="cancelled") - cancelled == 1
    assert own_sample("kino_uploads_abandoned_total", reason="timed_out") - timed_out == 1


def metrics_actor():
    from foundation.context import Actor
    return Actor.system("tests")


def test_a_task_is_timed_from_its_queueing_and_by_its_outcome():
    task = {"func": "media_core.tasks.make_downloads",
            "started": timezone.now() - timedelta(seconds=3)}
    waited = own_sample("kino_processing_queue_seconds_sum", job_type="make_downloads")
    failed = own_sample("kino_processing_duration_seconds_count", job_type="make_downloads",
                        outcome="failed")

    metrics.task_started("django_q", func=None, task=task)
    task.update(success=False)
    metrics.task_finished("django_q", func=None, task=task)

    assert 3 <= own_sample("kino_processing_queue_seconds_sum",
                           job_type="make_downloads") - waited < 10
    assert own_sample("kino_processing_duration_seconds_count", job_type="make_downloads",
                      outcome="failed") - failed == 1


def test_state_gauges_are_read_from_the_database_at_each_scrape(anonymous, environment,
                                                                tmp_path):
    source = tmp_path / "file.mp4"
    source.write_bytes(b"not processed in this test")
    asset = asset_from_file(environment, source)  # its job waits: nothing runs on commit
    ProcessingJob.objects.filter(asset=asset).update(
        updated_at=timezone.now() - timedelta(minutes=5))  # queued since then

    families = scrape(anonymous)

    queued = [s for s in families["kino_processing_jobs"] if s.labels == {"status": "queued"}]
    assert queued[0].value == 1
    oldest = families["kino_processing_oldest_queued_seconds"][0].value
    assert 299 <= oldest < 400


def test_the_grafana_dashboard_asks_only_for_metrics_the_platform_exports(anonymous):
    import json
    import re

    from django.conf import settings

    dashboard = json.loads((settings.BASE_DIR / "deploy/grafana/kino-dashboard.json").read_text())
    asked = {name for panel in dashboard["panels"] for target in panel.get("targets", [])
             for name in re.findall(r"\bkino_[a-z_]+", target["expr"])}
    metrics.TASK_QUEUE_SECONDS.labels("process_asset").observe(1)
    metrics.TASK_SECONDS.labels("process_asset", "succeeded").observe(1)
    metrics.PROCESSING_FAILURES.labels("process_asset", "invalid_input", "true").inc()
    anonymous.get("/healthz")
    exported = {sample.name for samples in scrape(anonymous).values() for sample in samples}

    assert len(asked) > 20
    assert sorted(asked - exported) == []
