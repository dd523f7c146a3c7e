"""A signed asset played end to end over HTTP by ffprobe, with a token made by PyJWT."""

from __future__ import annotations

import subprocess
import time

import jwt
import pytest
import requests

from tests.clips import make_clip, probe
from tests.e2e.test_vod_flow import _put, _wait_for

pytestmark = pytest.mark.e2e


def test_ffprobe_plays_a_signed_asset_with_a_token_from_an_issued_key(platform, environment,
                                                                     make_key, tmp_path):
    _, secret = make_key(environment)
    auth = {"Authorization": f"Bearer {secret}"}
    platform.start_worker()
    upload = requests.post(f"{platform.base_url}/api/v1/uploads", headers=auth, timeout=10,
                           json={"new_asset_settings": {"playback_policy": ["signed"]}}).json()
    source = make_clip(tmp_path / "clip.mp4", seconds=4, size="320x180")
    asset = _wait_for(platform, secret, _put(upload["url"], source)["asset_id"], "ready")
    playback_id = asset["playback_ids"][0]["id"]
    key = requests.post(f"{platform.base_url}/api/v1/signing-keys", headers=auth, timeout=30).json()
    master = f"{platform.base_url}/v/{playback_id}.m3u8"

    refused = subprocess.run(["ffprobe", "-v", "error", master], capture_output=True, text=True)
    assert refused.returncode != 0 and "403" in refused.stderr

    token = jwt.encode({"sub": playback_id, "aud": "v", "exp": int(time.time()) + 300},
                       key["private_key"], algorithm="RS256", headers={"kid": key["id"]})
    played = probe(f"{master}?token={token}")
    assert float(played["format"]["duration"]) == pytest.approx(4.0, abs=0.3)
    assert {s["codec_type"] for s in played["streams"]} == {"video", "audio"}
