"""Editors cut clips and switch downloads on from the asset page."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from foundation.admin import change_url
from media_core.models import Asset
from tests.clips import make_clip
from tests.factories import asset_from_file

from .conftest import form_data

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def source(environment, sync_tasks, tmp_path) -> Asset:
    asset = asset_from_file(environment, make_clip(tmp_path / "six.mp4", seconds=6),
                            title="Interview", playback_policy=["public"])
    assert asset.status == "ready"
    return asset


def _clip_url(asset: Asset) -> str:
    return reverse("admin:media_core_asset_clip", args=[quote(asset.pk)])


def test_an_editor_cuts_a_clip_from_the_asset_page(member, source):
    editor = member("Editors")
    page = editor.get(change_url(source)).content.decode()
    assert f'action="{_clip_url(source)}"' in page and 'data-playhead="clip-start"' in page

    response = editor.post(_clip_url(source), {"start": "1.5", "end": "4", "title": "Best bit"},
                           follow=True)

    clip = Asset.objects.get(source_asset_id=source.id)
    assert response.redirect_chain[-1][0] == change_url(clip)
    assert "Cutting 1.5–4 s into a new asset, “Best bit”" in response.content.decode()
    assert clip.title == "Best bit" and clip.status == "ready"
    assert abs(clip.duration - 2.5) <= 1 / 30 + 0.001
    assert list(clip.playback_ids.values_list("policy", flat=True)) == ["public"]


def test_a_bad_range_is_refused_with_a_message(member, source):
    editor = member("Editors")

    response = editor.post(_clip_url(source), {"start": "4", "end": "2"}, follow=True)

    assert response.redirect_chain[-1][0] == change_url(source)
    assert "The clip was not cut: end (2) must be after start (4)." in response.content.decode()
    assert not Asset.objects.filter(source_asset_id=source.id).exists()


def test_support_may_not_cut_clips(member, source):
    support = member("Support")

    assert 'id="clip-form"' not in support.get(change_url(source)).content.decode()
    assert support.post(_clip_url(source), {"start": "1", "end": "2"}).status_code == 403


def test_an_editor_switches_downloads_on_and_gets_them(member, source):
    editor = member("Editors")
    data = form_data(editor.get(change_url(source)), "asset_form")
    assert data["mp4_support"] == ["none"]

    saved = editor.post(change_url(source), {**data, "mp4_support": "standard"})

    assert saved.status_code == 302
    page = editor.get(change_url(source)).content.decode()
    staff = f"/admin/preview/{source.id}/highest.mp4"
    assert f'href="{staff}"' in page
    playback_id = source.playback_ids.get().id
    assert f"/v/{playback_id}/highest.mp4" in page
    download = editor.get(staff, HTTP_RANGE="bytes=0-99")
    assert download.status_code == 206 and len(b"".join(download.streaming_content)) == 100
