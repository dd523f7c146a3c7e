"""Clips: POST /assets/{id}/clips cuts [start, end) of a ready asset into a new asset,
to the frame, from the source's top rung; live recordings included."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.core.files import File

from foundation.context import Actor
from foundation.models import AuditEntry
from media_core.models import Asset
from media_core.processing.segments import join, read_playlist
from media_core.services.assets import asset_create, asset_process_recording
from media_core.storage import media_storage
from tests.api.conftest import assert_problem
from tests.clips import make_clip
from tests.factories import asset_from_file

# The clips themselves run on local files and again in a bucket; the refusals on local files.
pytestmark = pytest.mark.django_db(transaction=True)
FRAME = 1 / 30


@pytest.fixture(scope="module")
def ten_seconds(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clips") / "ten.mp4", seconds=10, size="640x360")


@pytest.fixture
def checked_source(environment) -> Asset:
    """A ready 10 s asset as far as the range checks read it (no media: nothing is cut)."""
    asset = asset_create(environment_id=environment.id, actor=Actor.system("tests"),
                         settings={}, start_processing=False)
    Asset.objects.filter(pk=asset.pk).update(status=Asset.Status.READY, duration=10.0)
    asset.refresh_from_db()
    return asset


@pytest.fixture
def source(environment, sync_tasks, ten_seconds) -> Asset:
    asset = asset_from_file(environment, ten_seconds, title="Keynote", playback_policy=["public"])
    assert asset.status == "ready"
    return asset


def _cut(owner, asset_id: str, **body):
    return owner.post(f"/api/v1/assets/{asset_id}/clips", body, format="json")


def _first_frame(asset: Asset, target: Path) -> Path:
    """The clip's first picture, as its top rung shows it."""
    top = max((r for r in asset.renditions.all() if r.height), key=lambda r: r.height)
    init, segments = read_playlist(asset.media_prefix, top.name)
    joined = target.with_suffix(".mp4")
    join(init, segments[:1], joined)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(joined), "-frames:v", "1",
                    str(target)], check=True, timeout=60)
    return target


def _frame_of(path: Path, at: float, target: Path, size: str = "640x360") -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{at:.4f}", "-i", str(path),
                    "-frames:v", "1", "-s", size, str(target)], check=True, timeout=60)
    return target


def _psnr(a: Path, b: Path) -> float:
    out = subprocess.run(["ffmpeg", "-v", "info", "-i", str(a), "-i", str(b), "-lavfi", "psnr",
                          "-f", "null", "-"], capture_output=True, text=True, timeout=60).stderr
    found = re.search(r"average:(inf|[\d.]+)", out)
    return float("inf") if found.group(1) == "inf" else float(found.group(1))


@pytest.mark.storage
def test_a_clip_is_a_new_asset_of_the_range_to_the_frame(owner, source, ten_seconds, tmp_path):
    response = _cut(owner, source.id, start=2.0, end=6.0, title="The demo",
                    playback_policy=["public"])

    assert response.status_code == 201, response.content
    created = response.json()
    assert created["source_asset_id"] == source.id and created["title"] == "The demo"
    assert created["id"] != source.id and len(created["playback_ids"]) == 1
    clip = Asset.objects.get(pk=created["id"])
    assert clip.status == "ready"
    assert abs(clip.duration - 4.0) <= FRAME + 0.001
    shown = owner.get(f"/api/v1/assets/{clip.id}").json()
    assert shown["status"] == "ready" and shown["source_asset_id"] == source.id

    first = _first_frame(clip, tmp_path / "clip.png")
    at_two = _frame_of(ten_seconds, 2.0, tmp_path / "src-2.png")
    next_one = _frame_of(ten_seconds, 2.0 + FRAME, tmp_path / "src-next.png")
    assert _psnr(first, at_two) > 30
    assert _psnr(first, at_two) > _psnr(first, next_one) + 3  # that frame, not its neighbour

    entry = AuditEntry.objects.get(object_id=clip.id, action="asset.created")
    assert entry.changes["source_asset_id"] == [None, source.id]
    assert entry.changes["clip_start"] == [None, 2.0] and entry.changes["clip_end"] == [None, 6.0]
    source.refresh_from_db()
    assert source.status == "ready" and source.duration == pytest.approx(10, abs=0.1)


@pytest.mark.parametrize(("start", "end", "field"), [
    (6.0, 2.0, "end"), (3.0, 3.0, "end"), (2.0, 60.0, "end"), (2.0, 2.2, "end"),
])
def test_a_range_not_within_the_video_is_refused_with_the_reason(owner, checked_source, start,
                                                                 end, field):
    problem = assert_problem(_cut(owner, checked_source.id, start=start, end=end), 422,
                             "clip_range_invalid")

    assert field in problem["errors"]
    assert Asset.objects.count() == 1


def test_a_negative_start_or_missing_end_is_a_bad_request(owner, checked_source):
    assert_problem(_cut(owner, checked_source.id, start=-1, end=2), 400)
    assert_problem(_cut(owner, checked_source.id, start=1), 400)


def test_only_a_ready_source_of_ones_own_environment_is_clipped(owner, outsider, environment,
                                                               checked_source):
    preparing = asset_create(environment_id=environment.id, actor=Actor.system("tests"),
                             settings={}, start_processing=False)

    assert_problem(_cut(owner, preparing.id, start=0, end=1), 409, "asset_not_ready")
    assert_problem(_cut(outsider, checked_source.id, start=0, end=1), 404)
    assert_problem(_cut(owner, "ast_00000000000000000000000000", start=0, end=1), 404)


@pytest.mark.storage
def test_a_live_recording_is_clipped_like_any_asset(owner, environment, sync_tasks, ten_seconds):
    # A recording as live ingest leaves it: made when the run starts, its original stored
    # when the stream ends, then processed.
    recording = asset_create(environment_id=environment.id, actor=Actor.system("tests"),
                             settings={"playback_policy": ["public"]}, start_processing=False,
                             live_stream_id="lvs_01m8pqxxxxxxxxxxxxxxxxxxxx")
    with open(ten_seconds, "rb") as fh:
        name = media_storage().save(f"recordings/{recording.id}.mp4", File(fh))
    asset_process_recording(asset=recording, master_name=name,
                            master_size=ten_seconds.stat().st_size, actor=Actor.system("tests"))
    recording.refresh_from_db()
    assert recording.status == "ready"

    response = _cut(owner, recording.id, start=7.5, end=10.0, title="The last goal")

    assert response.status_code == 201, response.content
    clip = Asset.objects.get(pk=response.json()["id"])
    assert clip.status == "ready" and abs(clip.duration - 2.5) <= FRAME + 0.001
    assert clip.live_stream_id is None and clip.source_asset_id == recording.id
