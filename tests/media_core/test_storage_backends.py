"""The same asset on local files and in a bucket: its files are where the backend keeps
them, nowhere else, and deleting the asset leaves nothing of it behind."""

from __future__ import annotations

import pytest

from foundation.context import Actor
from media_core.models import Asset
from media_core.services.assets import asset_delete
from tests import s3_server
from tests.clips import make_clip
from tests.factories import asset_from_file

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.storage]


def stored(media_backend, bucket, media_root) -> dict[str, int]:
    if media_backend == "s3":
        return s3_server.keys(bucket)
    return {p.relative_to(media_root).as_posix(): p.stat().st_size
            for p in media_root.rglob("*") if p.is_file()}


def test_an_asset_lives_in_its_backend_and_deleting_it_leaves_nothing(
        environment, sync_tasks, tmp_path, media_backend, bucket, media_root):
    source = make_clip(tmp_path / "in.mp4", size="320x180")

    asset = asset_from_file(environment, source)

    assert asset.status == Asset.Status.READY
    files = stored(media_backend, bucket, media_root)
    assert files[asset.master_name] == source.stat().st_size
    assert f"{asset.media_prefix}/180p/index.m3u8" in files
    assert f"{asset.media_prefix}/poster.jpg" in files
    if media_backend == "s3":  # nothing of the media on this machine's disk
        assert not media_root.exists() or not any(media_root.rglob("*.m4s"))

    asset_delete(asset=asset, actor=Actor.system("tests"))

    assert stored(media_backend, bucket, media_root) == {}
