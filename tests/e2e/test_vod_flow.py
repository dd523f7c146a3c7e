"""One video all the way through the running platform, over HTTP."""

from __future__ import annotations

import subprocess
import time

import pytest
import requests

from media_core.models import Asset, ProcessingJob
from media_core.services.processing import jobs_recover_stalled
from media_core.storage import list_children, list_tree
from tests.clips import make_clip, probe

from .live import wait_for

pytestmark = pytest.mark.e2e


def _create_upload(platform, secret: str) -> dict:
    response = requests.post(
        f"{platform.base_url}/api/v1/uploads",
        json={"new_asset_settings": {"playback_policy": ["public"], "title": "e2e"}},
        headers={"Authorization": f"Bearer {secret}"}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def _put(url: str, path) -> dict:
    with open(path, "rb") as fh:
        response = requests.put(url, data=fh, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def _wait_for(platform, secret: str, asset_id: str, status: str, timeout: float = 90, *,
              playable: bool = False) -> dict:
    """The asset once it is `status`; `ready` means processed to the end (every rendition
    made), unless `playable`: as soon as it plays (from its stream copy, or its first
    encoded segments)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        asset = requests.get(f"{platform.base_url}/api/v1/assets/{asset_id}",
                             headers={"Authorization": f"Bearer {secret}"}, timeout=10).json()
        if asset["status"] == status and (
                status != "ready" or playable or asset["renditions_status"] != "preparing"):
            return asset
        assert asset["status"] != "errored", asset
        time.sleep(0.2)
    raise AssertionError(f"asset not {status} in {timeout}s; worker log:\n{platform.log('worker.log')}")


def test_an_uploaded_clip_plays_over_http(platform, environment, make_key, tmp_path):
    _, secret = make_key(environment)
    source = make_clip(tmp_path / "source.mp4", seconds=6, size="640x360")
    source_duration = float(probe(str(source))["format"]["duration"])
    platform.start_worker()

    upload = _create_upload(platform, secret)
    assert upload["status"] == "waiting" and upload["asset_id"] is None
    stored = _put(upload["url"], source)
    asset = _wait_for(platform, secret, stored["asset_id"], "ready")

    # The asset as API.md shows it.
    assert asset["upload_id"] == upload["id"]
    assert asset["duration"] == pytest.approx(source_duration, abs=0.3)
    video, audio = asset["tracks"]
    assert (video["type"], video["width"], video["height"], video["codec"]) == ("video", 640, 360, "h264")
    assert video["frame_rate"] == pytest.approx(30)
    assert (audio["type"], audio["codec"]) == ("audio", "aac")
    # Its stream copy (H.264 with AAC), then the encoded ladder.
    assert [r["name"] for r in asset["renditions"]] == ["source", "360p", "240p"]
    for rendition in asset["renditions"]:
        assert rendition["height"] <= 360 and rendition["bitrate"] > 0
    assert asset["max_resolution"] == "360p" and asset["aspect_ratio"] == "16:9"

    # Played by ffprobe through the master playlist, every URL plain HTTP.
    playback_id = asset["playback_ids"][0]["id"]
    played = probe(f"{platform.base_url}/v/{playback_id}.m3u8")
    assert float(played["format"]["duration"]) == pytest.approx(source_duration, abs=0.3)
    heights = sorted({s["height"] for s in played["streams"] if s["codec_type"] == "video"})
    assert heights == [240, 360]
    assert any(s["codec_type"] == "audio" for s in played["streams"])

    poster = requests.get(f"{platform.base_url}/v/{playback_id}/thumbnail.jpg", timeout=10)
    assert poster.status_code == 200 and poster.content[:2] == b"\xff\xd8"

    master = requests.get(f"{platform.base_url}/v/{playback_id}.m3u8", timeout=10).text
    child = next(line for line in master.splitlines() if line.endswith("/240p/index.m3u8"))
    listing = requests.get(f"{platform.base_url}{child}", timeout=10).text
    assert "#EXT-X-ENDLIST" in listing and listing.count("#EXTINF") == 2  # 4 s + 2 s


def test_a_worker_killed_mid_transcode_is_replaced_and_the_asset_ends_ready(
        platform, environment, make_key, tmp_path):
    _, secret = make_key(environment)
    # Long enough that the encode is still running when the worker dies.
    source = make_clip(tmp_path / "long.mp4", seconds=20, size="960x540")
    worker = platform.start_worker()
    upload = _create_upload(platform, secret)
    asset_id = _put(upload["url"], source)["asset_id"]

    deadline = time.monotonic() + 60
    job = None
    while time.monotonic() < deadline:
        job = ProcessingJob.objects.filter(asset_id=asset_id).first()
        if job and job.status == ProcessingJob.Status.RUNNING and job.progress > 0.05:
            break
        time.sleep(0.1)
    assert job is not None and job.progress > 0.05, platform.log("worker.log")
    assert job.progress < 0.9, "the encode finished before the worker could be killed"
    platform.kill_worker(worker)

    # The encoder died with its worker: nothing of this job is still running.
    time.sleep(0.5)
    assert subprocess.run(["pgrep", "-f", job.id], capture_output=True).stdout == b""

    platform.start_worker()
    time.sleep(3.5)  # the dead worker's lease (3 s here) runs out
    assert jobs_recover_stalled() == [job.id]
    asset = _wait_for(platform, secret, asset_id, "ready", timeout=120)

    job.refresh_from_db()
    assert (job.status, job.attempts) == (ProcessingJob.Status.SUCCEEDED, 2)
    stored = Asset.objects.get(pk=asset_id)
    # Exactly one set of renditions in storage: the one the asset plays from.
    # The killed attempt had published its stream copy; the sweep after the second
    # attempt's success removes its folder.
    wait_for(lambda: list_children(f"assets/{asset_id}") == [stored.media_prefix],
             timeout=30, what="the first attempt's folder to be swept")
    names = list_tree(stored.media_prefix)
    for rendition in asset["renditions"]:
        assert f"{stored.media_prefix}/{rendition['name']}/index.m3u8" in names
    assert sum(n.endswith("/poster.jpg") for n in names) == 1
