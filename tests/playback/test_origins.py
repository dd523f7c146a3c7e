from __future__ import annotations

import pytest

from tests.clips import make_clip
from tests.factories import asset_from_file

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def restricted(environment, sync_tasks, tmp_path):
    asset = asset_from_file(environment, make_clip(tmp_path / "c.mp4"),
                            allowed_origins=["https://news.example", "https://*.shop.example"])
    return asset.playback_ids.get().id


def test_a_page_of_an_allowed_origin_plays(anonymous, restricted):
    assert anonymous.get(f"/v/{restricted}.m3u8", HTTP_ORIGIN="https://news.example").status_code == 200
    assert anonymous.get(f"/v/{restricted}.m3u8",
                         HTTP_REFERER="https://eu.shop.example/item/7").status_code == 200


def test_a_page_of_another_origin_is_refused(anonymous, restricted):
    response = anonymous.get(f"/v/{restricted}.m3u8", HTTP_ORIGIN="https://evil.example")

    assert (response.status_code, response.json()["code"]) == (403, "origin_not_allowed")
    assert anonymous.get(f"/v/{restricted}.m3u8", HTTP_ORIGIN="http://news.example").status_code == 403
    assert anonymous.get(f"/v/{restricted}.m3u8",
                         HTTP_REFERER="https://shop.example.evil.test/").status_code == 403


def test_a_restricted_asset_refuses_requests_that_name_no_page(anonymous, restricted):
    assert anonymous.get(f"/v/{restricted}.m3u8").status_code == 403
    assert anonymous.get(f"/v/{restricted}.m3u8", HTTP_REFERER="http://[news.example/").status_code == 403


def test_the_embed_page_checks_the_page_that_frames_it(anonymous, restricted):
    allowed = anonymous.get(f"/embed/{restricted}", HTTP_REFERER="https://news.example/story")
    refused = anonymous.get(f"/embed/{restricted}", HTTP_REFERER="https://evil.example/")

    assert allowed.status_code == 200
    assert refused.status_code == 403
    assert b"may not be played on this site" in refused.content


def test_origins_are_set_and_validated_through_the_api(owner, environment, sync_tasks, tmp_path):
    asset = asset_from_file(environment, make_clip(tmp_path / "d.mp4"))

    ok = owner.patch(f"/api/v1/assets/{asset.id}", {"allowed_origins": ["https://A.example/"]},
                     format="json")
    bad = owner.patch(f"/api/v1/assets/{asset.id}", {"allowed_origins": ["example.com/path"]},
                      format="json")

    assert ok.status_code == 200 and ok.json()["allowed_origins"] == ["https://a.example"]
    assert bad.status_code == 400 and "allowed_origins[0]" in bad.json()["errors"]


@pytest.mark.parametrize("origin", ["https://[news.example", "https://news.example:99999",
                                    "https://news.example:http", "https://news.example#top",
                                    "https://editor@news.example"])
def test_an_origin_that_does_not_parse_as_one_is_refused_with_400(owner, origin):
    response = owner.post("/api/v1/uploads", {"new_asset_settings": {"allowed_origins": [origin]}},
                          format="json")

    assert response.status_code == 400, response.content
    assert "new_asset_settings.allowed_origins[0]" in response.json()["errors"]
