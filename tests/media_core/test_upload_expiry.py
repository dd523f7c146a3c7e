from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from media_core import staging
from media_core.models import Upload
from media_core.services.uploads import upload_claim_writer
from media_core.tasks import expire_uploads
from tests.factories import upload_for
from webhooks.models import Event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.storage]


def _with_partial_bytes(environment) -> Upload:
    upload = upload_for(environment)
    with staging.open_for_append(upload.id, 0) as fh:
        fh.write(b"partial" * 1000)
    Upload.objects.filter(pk=upload.pk).update(offset=7000, length=100_000)
    return upload


def test_an_expired_upload_times_out_and_its_bytes_are_gone(environment, sync_tasks):
    upload = _with_partial_bytes(environment)
    Upload.objects.filter(pk=upload.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert expire_uploads() == [upload.id]

    upload.refresh_from_db()
    assert upload.status == Upload.Status.TIMED_OUT
    assert staging.staged_bytes(upload.id) == 0
    assert Event.objects.filter(object_id=upload.id, type="video.upload.timed_out").exists()


def test_an_upload_still_in_time_is_left_alone(environment, sync_tasks):
    upload = _with_partial_bytes(environment)

    assert expire_uploads() == []
    assert staging.staged_bytes(upload.id) == 7000


def test_an_upload_being_written_when_it_expires_is_left_to_finish(environment, sync_tasks):
    upload = _with_partial_bytes(environment)
    assert upload_claim_writer(upload_id=upload.id, offset=7000)
    Upload.objects.filter(pk=upload.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert expire_uploads() == []
    upload.refresh_from_db()
    assert upload.status == Upload.Status.WAITING
