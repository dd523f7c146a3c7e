"""The asset page previews any ready asset for staff, and hands out its embed code and
share URL; viewers still get nothing from an unpublished asset."""

from __future__ import annotations

import pytest
from django.conf import settings

from foundation.admin import change_url
from media_core.services.publication import asset_unpublish
from tests.conftest import ADMIN

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_staff_preview_an_unpublished_asset_that_viewers_cannot_play(admin_client, anonymous,
                                                                     ready_asset):
    asset_unpublish(asset=ready_asset, actor=ADMIN)
    playback_id = ready_asset.playback_ids.get().id
    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 404

    page = admin_client.get(change_url(ready_asset)).content.decode()
    master_url = f"/admin/preview/{ready_asset.id}/master.m3u8"
    assert f'data-src="{master_url}"' in page
    assert "even though viewers cannot yet (unpublished)" in page

    master = admin_client.get(master_url)
    assert master.status_code == 200 and "no-store" in master["Cache-Control"]
    child = next(line for line in master.content.decode().splitlines()
                 if line.startswith("/admin/preview/"))
    playlist = admin_client.get(child)
    assert playlist.status_code == 200
    segment = next(line for line in body(playlist).decode().splitlines()
                   if line.endswith(".m4s"))
    media = admin_client.get(child.rsplit("/", 1)[0] + "/" + segment)
    assert media.status_code == 200 and len(body(media)) > 1000


def test_the_preview_is_for_staff_only(anonymous, outsider_client, ready_asset):
    master_url = f"/admin/preview/{ready_asset.id}/master.m3u8"

    assert anonymous.get(master_url).status_code == 302  # to the login page
    assert outsider_client.get(master_url).status_code == 302
    assert anonymous.get(f"/admin/preview/{ready_asset.id}/../../secret").status_code in (
        302, 404)


def test_the_asset_page_gives_the_embed_code_and_share_url(admin_client, ready_asset):
    playback_id = ready_asset.playback_ids.get().id

    page = admin_client.get(change_url(ready_asset)).content.decode()

    share = f"{settings.PUBLIC_BASE_URL}/embed/{playback_id}"
    assert f'value="{share}"' in page
    assert f"&lt;iframe src=&quot;{share}&quot;" in page
    assert page.count('class="button copy"') == 2


def test_the_tracks_read_as_lines_not_json(admin_client, ready_asset):
    page = admin_client.get(change_url(ready_asset)).content.decode()

    assert "<div>video · h264 · " in page and " fps · " in page
    assert "<div>audio · aac · " in page and " kHz · " in page
    assert '"codec"' not in page


def test_the_asset_page_shows_a_thumbnail_strip_cut_from_one_storyboard(admin_client, anonymous,
                                                                       ready_asset):
    strip_url = f"/admin/preview/{ready_asset.id}/storyboard.json"
    assert f'data-src="{strip_url}"' in admin_client.get(change_url(ready_asset)).content.decode()

    board = admin_client.get(strip_url).json()
    sprite = admin_client.get(board["image"])

    duration = float(ready_asset.duration)
    assert board["image"] == f"/admin/preview/{ready_asset.id}/storyboard.jpg"
    assert len(board["tiles"]) == pytest.approx(duration, abs=1)  # one a second, short video
    assert board["tiles"][0] == {"start": 0, "x": 0, "y": 0}
    assert all(0 <= tile["start"] < duration for tile in board["tiles"])
    assert sprite.status_code == 200 and sprite["Content-Type"] == "image/jpeg"
    assert body(sprite)[:3] == b"\xff\xd8\xff"
    assert anonymous.get(strip_url).status_code == 302
    assert anonymous.get(board["image"]).status_code == 302
