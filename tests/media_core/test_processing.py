from __future__ import annotations

from pathlib import Path

import pytest

from foundation.errors import ValidationFailed
from foundation.models import Environment
from media_core.models import Asset, ProcessingJob
from media_core.storage import list_tree
from tests.clips import make_clip, random_bytes
from tests.factories import asset_from_file, complete, upload_for
from webhooks.models import Event

pytestmark = [pytest.mark.django_db, pytest.mark.storage]


def test_a_clip_becomes_ready_with_renditions_and_a_poster(environment, sync_tasks, tmp_path):
    asset = asset_from_file(environment, make_clip(tmp_path / "in.mp4", size="320x180"))

    assert asset.status == Asset.Status.READY
    assert asset.duration == pytest.approx(2.0, abs=0.1)
    assert asset.aspect_ratio == "16:9"
    # H.264 with AAC: its stream copy, its sound, and the encoded ladder.
    assert sorted(r.name for r in asset.renditions.all()) == ["180p", "audio", "source"]
    files = list_tree(asset.media_prefix)
    assert f"{asset.media_prefix}/poster.jpg" in files
    assert f"{asset.media_prefix}/180p/index.m3u8" in files
    job = asset.jobs.get()
    assert (job.status, job.attempts, job.progress) == (ProcessingJob.Status.SUCCEEDED, 1, 1.0)
    types = list(Event.objects.filter(object_id=asset.id).order_by("id").values_list("type", flat=True))
    assert types == ["video.asset.created", "video.asset.ready", "video.asset.published",
                     "video.asset.renditions_ready"]


def test_random_bytes_end_errored_as_non_video(environment, sync_tasks, tmp_path):
    asset = asset_from_file(environment, random_bytes(tmp_path / "clip.mp4"))

    assert asset.status == Asset.Status.ERRORED
    assert asset.error_type == "non_video"
    assert "not a video" in asset.error_messages[0]
    assert asset.jobs.get().status == ProcessingJob.Status.FAILED
    assert Event.objects.filter(object_id=asset.id, type="video.asset.errored").exists()
    # Nothing of a refused file stays in storage.
    assert list_tree("assets") == [] and list_tree("uploads") == []
    assert asset.master_name == ""


def test_an_hls_playlist_named_mp4_is_refused_and_reads_nothing(environment, sync_tasks, tmp_path,
                                                                  media_root):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT\n" * 100)
    playlist = tmp_path / "clip.mp4"
    playlist.write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n"
        f"#EXTINF:10,\nfile://{secret}\n#EXT-X-ENDLIST\n"
    )
    asset = asset_from_file(environment, playlist)

    assert asset.status == Asset.Status.ERRORED
    assert asset.error_type == "unsupported_format"
    for path in Path(media_root).rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert b"root:" not in content and b"TOP-SECRET" not in content, path


def test_a_truncated_mp4_is_malformed(environment, sync_tasks, tmp_path):
    clip = make_clip(tmp_path / "full.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clip.read_bytes()[: clip.stat().st_size // 3])
    asset = asset_from_file(environment, broken)

    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "malformed")


def test_a_too_short_video_is_refused(environment, sync_tasks, tmp_path):
    asset = asset_from_file(environment, make_clip(tmp_path / "short.mp4", seconds=0.2))

    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "duration_too_short")


def test_a_video_longer_than_the_assets_limit_is_refused_and_not_kept(environment, sync_tasks,
                                                                       tmp_path):
    asset = asset_from_file(environment, make_clip(tmp_path / "long.mp4", seconds=3),
                            max_duration_seconds=2)

    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "duration_too_long")
    assert "at most 2 s" in asset.error_messages[0]
    assert list_tree("uploads") == [] and list_tree("assets") == []


def test_without_a_limit_of_its_own_an_asset_gets_its_environments(environment, sync_tasks,
                                                                      tmp_path):
    Environment.objects.filter(pk=environment.pk).update(max_duration_seconds=2)

    asset = asset_from_file(environment, make_clip(tmp_path / "long.mp4", seconds=3))

    assert asset.max_duration is None
    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "duration_too_long")
    assert "the environment production accepts at most 2 s" in asset.error_messages[0]
    assert list_tree("uploads") == [] and list_tree("assets") == []


def test_an_environment_without_a_limit_of_its_own_has_the_platforms(environment, settings,
                                                                      sync_tasks, tmp_path):
    assert environment.max_duration_seconds is None
    assert environment.asset_max_duration == 12 * 3600  # ASSET_MAX_DURATION_SECONDS' default
    settings.ASSET_MAX_DURATION_SECONDS = 2

    asset = asset_from_file(environment, make_clip(tmp_path / "long.mp4", seconds=3))

    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "duration_too_long")


def test_an_assets_own_limit_may_not_exceed_its_environments(environment, sync_tasks,
                                                              tmp_path):
    Environment.objects.filter(pk=environment.pk).update(max_duration_seconds=600)
    environment.refresh_from_db()
    with pytest.raises(ValidationFailed) as refused:
        upload_for(environment, max_duration_seconds=601)
    assert "at most 600" in refused.value.errors["new_asset_settings.max_duration_seconds"][0]

    # Lowered after the upload was asked for: the lower limit still holds.
    upload = upload_for(environment, max_duration_seconds=600)
    Environment.objects.filter(pk=environment.pk).update(max_duration_seconds=2)
    asset = complete(upload, make_clip(tmp_path / "long.mp4", seconds=3))

    assert asset.max_duration == 600
    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "duration_too_long")
    assert "at most 2 s" in asset.error_messages[0]


def test_a_refused_original_cannot_be_retried(environment, sync_tasks, tmp_path):
    from foundation.errors import Conflict
    from media_core.services.assets import asset_retry
    from tests.conftest import ADMIN

    asset = asset_from_file(environment, random_bytes(tmp_path / "noise.mp4"))

    with pytest.raises(Conflict, match="upload it again"):
        asset_retry(asset=asset, actor=ADMIN)


def test_the_container_sniff_is_not_fooled_by_one_lucky_byte(tmp_path):
    import os

    from media_core.processing.probe import looks_like_container

    lucky = tmp_path / "lucky"
    lucky.write_bytes(b"\x47" + os.urandom(4000))
    transport = tmp_path / "ts"
    transport.write_bytes(b"".join(b"\x47" + os.urandom(187) for _ in range(3)))

    assert not looks_like_container(lucky)
    assert looks_like_container(transport)
