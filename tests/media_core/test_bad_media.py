"""Every file of the bad-media corpus through the real pipeline, as a user uploads it."""

from __future__ import annotations

import pytest

from media_core.models import Asset, ProcessingJob
from media_core.storage import list_tree
from tests.factories import asset_from_file

from .corpus import CASES, Case

pytestmark = [pytest.mark.django_db, pytest.mark.storage]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_file_ends_as_a_user_would_expect(case: Case, environment, sync_tasks, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    asset = asset_from_file(environment, case.build(folder))
    job = asset.jobs.get()

    if case.outcome == "ready":
        assert (asset.status, asset.error_type) == (Asset.Status.READY, "")
        assert f"{asset.media_prefix}/poster.jpg" in list_tree(asset.media_prefix)
        return
    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, case.outcome), \
        asset.error_messages
    assert case.message in asset.error_messages[0]
    # Refused at once, not retried, and nothing of the file kept.
    assert (job.status, job.attempts) == (ProcessingJob.Status.FAILED, 1)
    assert asset.master_name == ""
    assert list_tree("uploads") == [] and list_tree("assets") == []


def test_a_truncated_file_keeps_no_duration_from_its_header(environment, sync_tasks, tmp_path):
    from .corpus import truncated_index_at_front

    asset = asset_from_file(environment, truncated_index_at_front(tmp_path))

    assert asset.error_type == "malformed"
    assert asset.duration is None and asset.renditions.count() == 0
    # What FFmpeg said about the file stays on the job for an operator.
    assert asset.jobs.get().stderr_tail


def test_a_ready_asset_lasts_what_was_decoded(environment, sync_tasks, tmp_path):
    from .corpus import audio_outlasts_video

    asset = asset_from_file(environment, audio_outlasts_video(tmp_path))

    assert asset.duration == pytest.approx(4.0, abs=0.1)
    video, audio = asset.tracks
    assert video["duration"] == pytest.approx(2.0, abs=0.1)
    assert audio["duration"] == pytest.approx(4.0, abs=0.1)
