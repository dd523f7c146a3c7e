"""The embed player on other sites' pages, in Debian's Chromium."""

from __future__ import annotations

import pytest

from media_core.models import Asset
from tests.browser import chromium_page
from tests.clips import make_clip
from tests.e2e.test_vod_flow import _create_upload, _put, _wait_for
from tests.web_servers import web_servers

pytestmark = pytest.mark.e2e


def test_an_allowed_site_plays_the_embed_and_another_site_is_refused(platform, environment,
                                                                    make_key, tmp_path):
    _, secret = make_key(environment)
    platform.start_worker()
    upload = _create_upload(platform, secret)
    asset_id = _put(upload["url"], make_clip(tmp_path / "c.mp4", seconds=6, size="320x180"))["asset_id"]
    playback_id = _wait_for(platform, secret, asset_id, "ready")["playback_ids"][0]["id"]

    with web_servers() as start:
        news, evil = start("127.0.0.3"), start("127.0.0.4")
        Asset.objects.filter(pk=asset_id).update(allowed_origins=[f"http://127.0.0.3:{news.port}"])
        frame = (f'<iframe id="player" width="640" height="360" '
                 f'src="{platform.base_url}/embed/{playback_id}?autoplay=1&muted=1"></iframe>')
        news.page("/story", frame)
        evil.page("/story", frame)
        with chromium_page() as page:
            _watch(page, news, evil)


def _watch(page, news, evil) -> None:
    """On the allowed site the video plays; on the other the frame says why it won't."""
    page.goto(news.url("/story"))
    page.frame_locator("#player").locator("video").wait_for()
    assert page.frames[1].wait_for_function(
        "document.getElementById('player').currentTime > 1", timeout=30_000)

    page.goto(evil.url("/story"))
    refused = page.frame_locator("#player").locator("body")
    refused.wait_for()
    assert "may not be played on this site" in refused.inner_text()
    assert page.frames[1].locator("video").count() == 0
