"""Usage of one video through the running platform: what GET /api/v1/usage says against
what the worker's jobs took, what is in storage, and what a player received."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from urllib.parse import urljoin

import pytest
import requests

from media_core.models import ProcessingJob
from tests.clips import make_clip

pytestmark = pytest.mark.e2e

URI = re.compile(r'URI="([^"]+)"')


def _api(platform, secret: str, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{platform.base_url}{path}", timeout=30,
                            headers={"Authorization": f"Bearer {secret}"}, **kwargs)


def _ready(platform, secret: str, asset_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        asset = _api(platform, secret, "GET", f"/api/v1/assets/{asset_id}").json()
        assert asset["status"] != "errored", asset
        if asset["status"] == "ready" and asset["renditions_status"] == "ready":
            return asset
        time.sleep(0.2)
    raise AssertionError(f"not ready in {timeout}s; worker log:\n{platform.log('worker.log')}")


def _play_everything(base_url: str, master_url: str) -> int:
    """Fetch the master playlist, every media playlist it names and every init segment and
    segment in them, as a player that watches each rendition through would; the bytes
    received."""
    received = 0
    master = requests.get(master_url, timeout=10)
    assert master.status_code == 200
    received += len(master.content)
    playlists = [line for line in master.text.splitlines() if line and not line.startswith("#")]
    playlists += URI.findall(master.text)  # the audio rendition
    for playlist_path in playlists:
        playlist_url = urljoin(master_url, playlist_path)
        playlist = requests.get(playlist_url, timeout=10)
        assert playlist.status_code == 200, playlist_url
        received += len(playlist.content)
        media = URI.findall(playlist.text) + [line for line in playlist.text.splitlines()
                                              if line and not line.startswith("#")]
        for name in media:
            segment = requests.get(urljoin(playlist_url, name), timeout=10)
            assert segment.status_code == 200, name
            received += len(segment.content)
    return received


def test_usage_of_one_video_is_what_the_platform_did(platform, environment, make_key, tmp_path,
                                                     media_root):
    _, secret = make_key(environment)
    source = make_clip(tmp_path / "source.mp4", seconds=8, size="640x360")
    platform.start_worker()
    upload = _api(platform, secret, "POST", "/api/v1/uploads",
                  json={"new_asset_settings": {"playback_policy": ["public"]}}).json()
    with open(source, "rb") as fh:
        stored = requests.put(upload["url"], data=fh, timeout=60).json()
    asset = _ready(platform, secret, stored["asset_id"])
    playback_id = asset["playback_ids"][0]["id"]

    received = _play_everything(platform.base_url, f"{platform.base_url}/v/{playback_id}.m3u8")
    today = datetime.now(UTC).date().isoformat()
    answer = _api(platform, secret, "GET", "/api/v1/usage", params={"from": today, "to": today})
    on_disk = sum(p.stat().st_size for p in media_root.rglob("*") if p.is_file())

    assert answer.status_code == 200, answer.text
    (day,) = answer.json()["data"]
    jobs = ProcessingJob.objects.filter(asset_id=asset["id"])
    took = sum((job.finished_at - job.started_at).total_seconds() for job in jobs)
    assert [job.status for job in jobs] == ["succeeded"]
    assert day["processing_seconds"]["encode"] == pytest.approx(took, rel=0.10)
    assert day["processing_seconds"]["total"] == day["processing_seconds"]["encode"]
    assert day["storage_bytes"]["total"] == on_disk
    assert day["storage_bytes"]["originals"] == source.stat().st_size
    assert received > 100_000
    assert day["delivery_bytes"] == received
