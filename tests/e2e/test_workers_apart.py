"""Two workers that share nothing on disk: each its own VAR_DIR and scratch space, the
media in a bucket on an S3 server. They share a burst of uploads with no job run twice;
one is killed mid-encode, the other finishes its job, and the killed one's next start
clears what it left on its disk."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from media_core.models import Asset, ProcessingJob
from media_core.services.processing import jobs_recover_stalled
from tests import s3_server
from tests.clips import make_clip

from .conftest import ROOT, files_under
from .live import wait_for
from .test_vod_flow import _create_upload, _put, _wait_for

pytestmark = pytest.mark.e2e


def start_worker(platform, home: Path, command: str = "qcluster") -> subprocess.Popen:
    """A worker with a disk of its own; `worker` runs it as production does."""
    env = {**platform.env, "VAR_DIR": str(home), "PROCESSING_TMP_DIR": str(home / "tmp"),
           "MEDIA_ROOT": str(home / "media")}  # never written: the media is in the bucket
    log = open(platform.log_dir / f"{home.name}.log", "ab")
    args = [sys.executable, "manage.py", command] + (["--grace", "2"] if command == "worker" else [])
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    platform.workers.append(proc)
    return proc


@pytest.mark.parametrize("media_backend", ["s3"], indirect=True)
def test_two_workers_on_their_own_disks_share_the_jobs_and_take_over_a_lost_one(
        platform, environment, make_key, tmp_path, bucket):
    _, secret = make_key(environment)
    homes = [tmp_path / "worker-1", tmp_path / "worker-2"]
    workers = [start_worker(platform, home) for home in homes]
    clip = make_clip(tmp_path / "clip.mp4", seconds=2, size="320x180")

    # A burst: six uploads at once.
    assets = [_put(_create_upload(platform, secret)["url"], clip)["asset_id"] for _ in range(6)]
    for asset_id in assets:
        _wait_for(platform, secret, asset_id, "ready", timeout=120)

    jobs = list(ProcessingJob.objects.filter(asset_id__in=assets))
    assert [(j.status, j.attempts) for j in jobs] == [("succeeded", 1)] * 6
    logs = "".join((platform.log_dir / f"{home.name}.log").read_text() for home in homes)
    started = re.findall(r"job (job_\w+) attempt \d+ started", logs)
    assert sorted(started) == sorted(j.id for j in jobs)  # each run once, by one worker

    # A long encode; the worker running it is killed.
    long_clip = make_clip(tmp_path / "long.mp4", seconds=20, size="960x540")
    long_id = _put(_create_upload(platform, secret)["url"], long_clip)["asset_id"]
    job = wait_for(lambda: (j := ProcessingJob.objects.filter(asset_id=long_id).first())
                   and j.status == "running" and j.progress > 0.05 and j,
                   timeout=60, what="the long encode to run")
    loser = next(i for i, home in enumerate(homes)
                 if f"job {job.id} attempt 1 started" in
                 (platform.log_dir / f"{home.name}.log").read_text())
    os.killpg(workers[loser].pid, 9)
    workers[loser].wait(timeout=10)
    leftovers = files_under(homes[loser] / "tmp")
    assert leftovers, "the killed encode left nothing to clear"

    time.sleep(3.5)  # its lease (3 s here) runs out
    assert jobs_recover_stalled() == [job.id]
    _wait_for(platform, secret, long_id, "ready", timeout=180)
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("succeeded", 2)

    # The killed worker starts again as production runs it: its leftovers go first.
    start_worker(platform, homes[loser], command="worker")
    wait_for(lambda: files_under(homes[loser] / "tmp") == [], timeout=30,
             what="the killed worker's scratch space to be cleared")

    # The media is in the bucket, and nothing of it on either worker's disk.
    keys = s3_server.keys(bucket)
    for asset in Asset.objects.filter(pk__in=[*assets, long_id]):
        assert asset.master_name in keys
        assert f"{asset.media_prefix}/poster.jpg" in keys
    for home in homes:
        assert not (home / "media").exists() or files_under(home / "media") == []
        assert [f for f in files_under(home) if f.endswith((".m4s", ".mp4", ".m3u8"))] == []
    assert requests.get(f"{platform.base_url}/api/v1/assets/{long_id}",
                        headers={"Authorization": f"Bearer {secret}"}, timeout=10).ok
