"""storage_audit: what storage holds that no row owns, what rows miss, and the daily
deletion of old orphans; on local files and on an S3 server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from foundation.usage.selectors import usage_by_day
from media_core.storage import media_storage
from media_core.storage_audit import storage_audit, storage_orphans_delete
from tests.clips import make_clip
from tests.factories import asset_from_file

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.storage]


@pytest.fixture
def ready(environment, sync_tasks, tmp_path):
    return asset_from_file(environment, make_clip(tmp_path / "in.mp4", size="320x180"))


def test_a_processed_asset_leaves_no_orphan_and_misses_nothing(ready):
    audit = storage_audit()

    assert audit.objects > 5 and audit.bytes > 10_000
    assert audit.orphans == [] and audit.missing == []


def test_objects_no_row_owns_are_listed_and_deleted_after_the_grace_period(ready):
    storage = media_storage()
    stray = {f"assets/{ready.id}/job_gone-1/360p/seg_00000.m4s": b"x" * 700,
             "uploads/upl_gone/master-0": b"y" * 300, "junk.txt": b"z"}
    for name, data in stray.items():
        storage.save(name, ContentFile(data))

    audit = storage_audit()

    assert {o.name: o.size for o in audit.orphans} == {k: len(v) for k, v in stray.items()}
    assert audit.orphan_bytes == 1001
    assert storage_orphans_delete() == (0, 0)  # written just now: within the grace period
    assert storage_orphans_delete(older_than=timedelta(0)) == (3, 1001)
    assert storage_audit().orphans == []
    # The asset's stray segment goes into its environment's usage; the upload and the
    # file no row ever named are in none.
    (today,) = usage_by_day(environment_id=ready.environment_id, start=datetime.now(UTC).date(),
                            end=datetime.now(UTC).date())
    assert today["orphaned_bytes_deleted"] == 700
    assert storage.exists(ready.master_name)
    assert storage.exists(f"{ready.media_prefix}/180p/index.m3u8")


def test_an_object_a_row_points_at_that_is_gone_is_missing(ready):
    playlist = f"{ready.media_prefix}/180p/index.m3u8"
    media_storage().delete(playlist)

    assert storage_audit().missing == [(f"asset {ready.id} (180p)", playlist)]


def test_the_command_lists_both_with_sizes_and_deletes_on_request(ready):
    media_storage().save("junk/left-over.bin", ContentFile(b"q" * 2500))
    out = StringIO()

    call_command("storage_audit", stdout=out)
    call_command("storage_audit", "--delete", "--older-than", "0", stdout=out)

    text = out.getvalue()
    assert "Orphans (no row owns them): 1, 2.5 KB" in text
    assert "junk/left-over.bin  2.5 KB  written 0 d 0 h ago" in text
    assert "Missing (a row points at them): 0" in text
    assert "Deleted 1 orphans older than 0 h, 2.5 KB." in text
    assert not media_storage().exists("junk/left-over.bin")



def test_the_parts_of_an_upload_still_growing_are_its_own(environment, settings):
    from media_core import staging
    from tests.factories import upload_for

    settings.UPLOAD_STAGING = "storage"
    waiting = upload_for(environment)
    with staging.open_for_append(waiting.id, 0) as fh:
        fh.write(b"p" * 1234)

    assert storage_audit().orphans == []
