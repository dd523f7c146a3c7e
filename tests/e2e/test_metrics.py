"""GET /metrics after a day's work on the running platform: uploads (one refused, one
resumed), a webhook endpoint failing twice then answering, a live stream published and
stopped, a refused playback token. The web server, the worker's processes and the ingest
count in files of their own; one scrape of the web server shows all of them."""

from __future__ import annotations

import glob
import os

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from foundation.context import Actor
from foundation.tenancy import api_key_create, environment_get_or_create
from tests.clips import make_clip
from tests.webhooks.conftest import emit
from tests.webhooks.receiver import receiver as start_receiver
from webhooks.models import WebhookDelivery, WebhookEndpoint

from .live import HAVE_RTMP, publish, start_ingest, stop, wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.live,
    pytest.mark.skipif(not HAVE_RTMP, reason="needs nginx, libnginx-mod-rtmp and ffmpeg"),
]
TUS = {"Tus-Resumable": "1.0.0"}


class Scrape:
    def __init__(self, text: str):
        self.samples = [s for family in text_string_to_metric_families(text)
                        for s in family.samples]

    def __call__(self, name: str, **labels: str) -> float:
        return sum(s.value for s in self.samples
                   if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_count_a_day_of_work_from_every_process(platform, tmp_path, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    platform.env.update({"WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
                         "WEBHOOK_RETRY_SCHEDULE": "0,1,1,3600"})
    environment = environment_get_or_create(name="production", actor=Actor.system("test"))
    _, secret = api_key_create(environment=environment, name="metrics e2e", scopes=["all"],
                               actor=Actor.system("test"))
    base = platform.base_url
    auth = {"Authorization": f"Bearer {secret}"}

    def api(method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{base}/api/v1/{path}", headers=auth, timeout=10,
                                **kwargs)

    def new_upload() -> dict:
        response = api("POST", "uploads", json={"new_asset_settings": {
            "playback_policy": ["public"]}})
        assert response.status_code == 201, response.text
        return response.json()

    def asset_status(asset_id: str) -> str:
        return api("GET", f"assets/{asset_id}").json()["status"]

    platform.start_worker()
    start_ingest(platform)
    clip = make_clip(tmp_path / "clip.mp4", seconds=2).read_bytes()

    # Two uploads that succeed, one file that is not a video.
    assets = [requests.put(new_upload()["url"], data=clip, timeout=30).json()["asset_id"]
              for _ in range(2)]
    not_video = requests.put(new_upload()["url"], data=b"just some text " * 100,
                             timeout=30).json()["asset_id"]
    # A tus upload that stops halfway and is resumed; one request sends too much.
    tus_url = new_upload()["url"]
    requests.post(tus_url, headers={**TUS, "Upload-Length": str(len(clip))}, timeout=10)
    half = len(clip) // 2
    octets = {**TUS, "Content-Type": "application/offset+octet-stream"}
    requests.patch(tus_url, data=clip[:half], headers={**octets, "Upload-Offset": "0"},
                   timeout=10)
    assert requests.head(tus_url, headers=TUS, timeout=10).headers["Upload-Offset"] == str(half)
    too_much = requests.patch(tus_url, data=clip[half:] + b"x",
                              headers={**octets, "Upload-Offset": str(half)}, timeout=10)
    assert too_much.status_code == 413
    done = requests.patch(tus_url, data=clip[half:],
                          headers={**octets, "Upload-Offset": str(half)}, timeout=10)
    assert done.status_code == 204
    assets.append(done.headers["Upload-Asset-Id"])

    # A live stream published for a few seconds, then stopped; its run is recorded.
    stream = api("POST", "live-streams", json={
        "playback_policy": ["public"], "reconnect_window": 1,
        "new_asset_settings": {"playback_policy": ["public"]}}).json()
    encoder = publish(f"{stream['rtmp_url']}/{stream['stream_key']}", seconds=6)
    try:
        wait_for(lambda: api("GET", f"live-streams/{stream['id']}").json()["status"] == "active",
                 timeout=30, what="the stream on air")
        wait_for(lambda: encoder.poll() is not None, timeout=20, what="the encoder to finish")
    finally:
        stop(encoder)
    wait_for(lambda: api("GET", f"live-streams/{stream['id']}").json()["status"] == "idle",
             timeout=20, what="the run to end")

    for asset_id in assets:
        wait_for(lambda a=asset_id: asset_status(a) == "ready", timeout=120,
                 what=f"{asset_id} ready")
    wait_for(lambda: asset_status(not_video) == "errored", timeout=60, what="the refusal")

    # A signed playback ID asked for with a token no key signed.
    signed = api("POST", f"assets/{assets[0]}/playback-ids", json={"policy": "signed"}).json()
    refused = requests.get(f"{base}/v/{signed['id']}.m3u8?token=not-a-jwt", timeout=10)
    assert refused.status_code == 403
    # A viewer plays a public one: its playlists come from the web server.
    public = api("GET", f"assets/{assets[1]}").json()["playback_ids"][0]["id"]
    master = requests.get(f"{base}/v/{public}.m3u8", timeout=10)
    assert master.status_code == 200

    # A webhook endpoint that fails twice, then answers.
    with start_receiver() as receiver:
        receiver.script = [500, 500]
        WebhookEndpoint.objects.create(environment=environment, url=receiver.url(),
                                       events=["video.asset.updated"])
        delivery = emit(environment).deliveries.get()
        wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == "succeeded",
                 timeout=30, what="the delivery to succeed")
        assert [r["status"] for r in receiver.requests] == [500, 500, 200]

    scrape = Scrape(requests.get(f"{base}/metrics", timeout=10).text)

    # Every process counted in a file of its own: the web server, the worker's, the ingest.
    pids = {os.path.basename(p).rsplit("_", 1)[1] for p in
            glob.glob(os.path.join(platform.env["VAR_DIR"], "metrics", "*.db"))}
    assert len(pids) >= 3, pids
    assert scrape("kino_uploads_created_total") == 4
    assert scrape("kino_uploads_completed_total", protocol="put") == 3
    assert scrape("kino_uploads_completed_total", protocol="tus") == 1
    assert scrape("kino_uploads_resumed_total") == 1
    assert scrape("kino_uploads_refused_total", reason="upload_length_exceeded") == 1
    assert scrape("kino_upload_bytes_total", protocol="tus") == len(clip)
    # Counted by the worker's processes.
    assert scrape("kino_processing_failures_total", job_type="process_asset",
                  final="true") == 1
    encodes = scrape("kino_processing_duration_seconds_count", job_type="process_asset")
    assert encodes == 5  # three uploads, the refused file, the recording
    assert scrape("kino_processing_queue_seconds_count", job_type="process_asset") == 5
    assert scrape("kino_processing_duration_seconds_sum", job_type="process_asset") > 1
    assert scrape("kino_webhook_deliveries_total", outcome="failed") == 2
    assert scrape("kino_webhook_deliveries_total", outcome="succeeded") == 1
    assert scrape("kino_webhook_retries_total") == 2
    assert scrape("kino_webhook_dead_letters_total") == 0
    assert scrape("kino_webhook_delivery_seconds_count") == 3
    assert scrape("kino_live_recordings_total", outcome="stored") == 1
    # Counted by the web server from the ingest's callbacks and reports.
    assert scrape("kino_live_connects_total", protocol="rtmp") == 1
    assert scrape("kino_live_disconnects_total", reason="stopped") == 1
    assert scrape("kino_live_ingest_bitrate_bits_per_second_count") >= 2
    assert scrape("kino_live_streams_active") == 0
    assert scrape("kino_playback_refusals_total", reason="malformed") == 1
    assert scrape("kino_playback_tokens_checked_total", outcome="refused") == 1
    assert scrape("kino_delivery_bytes_total", kind="playlist") >= len(master.content)
    assert scrape("kino_http_requests_total", route="api/v1/uploads", method="POST",
                  status="201") == 4
    assert scrape("kino_processing_jobs", status="queued") == 0
