"""An editor (in Editors only, no superuser, no API key) in Debian's Chromium: uploads a
file with the progress bar as a draft, watches it process, plays it and its thumbnails
on the asset page, copies the embed code, publishes it so the embed plays in a second
page, unpublishes it so the embed and the master playlist answer 404, and schedules it
5 s ahead: it plays once that time has come."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from django.contrib.auth.models import Group
from django.utils import timezone

from foundation import roles
from foundation.admin import change_url, changelist_url
from foundation.models import AuditEntry
from media_core.models import Asset
from tests.browser import chromium_page
from tests.clips import make_clip

pytestmark = pytest.mark.e2e

PASSWORD = "ed1tor-pw"
ASSET_PAGE_SCREENSHOT = "/tmp/admin-asset-editor.png"
LIBRARY_SCREENSHOT = "/tmp/admin-library.png"
PLAYING = "(id) => document.getElementById(id).currentTime > 1"


def _plays(viewer, url: str) -> None:
    assert viewer.goto(url).status == 200
    viewer.wait_for_function(PLAYING, arg="player", timeout=30_000)


def test_an_editor_uploads_previews_publishes_unpublishes_and_schedules(
        platform, environment, django_user_model, tmp_path):
    roles.sync_roles()
    editor = django_user_model.objects.create_user("editor", password=PASSWORD, is_staff=True)
    editor.groups.add(Group.objects.get(name=roles.EDITORS))
    source = make_clip(tmp_path / "harbour.mp4", seconds=12, size="640x360")
    platform.start_worker()

    with chromium_page() as page:
        page.set_viewport_size({"width": 1400, "height": 900})
        page.goto(f"{platform.base_url}/admin/login/?next=/admin/media_core/asset/")
        page.fill("#id_username", "editor")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/media_core/asset/")
        page.click("text=Upload video")
        page.fill("#id_title", "Harbour at dawn")
        page.check("#id_draft")
        page.set_input_files("#id_file", str(source))
        page.click("#upload-submit")
        page.wait_for_selector("#upload-bar:visible")
        page.wait_for_url(re.compile(r"/admin/media_core/asset/ast_[^/]+/change/$"),
                          timeout=60_000)
        asset_url = page.url
        # The page follows processing and reloads itself once the asset is ready.
        page.wait_for_function(
            "document.querySelector('.field-state .readonly')?.textContent.trim() === 'ready'",
            timeout=120_000)
        # (The database is read after the browser closes: Playwright's loop runs here.)
        embed = page.input_value("#share-url")
        playback_id = embed.rsplit("/", 1)[1]
        master = f"{platform.base_url}/v/{playback_id}.m3u8"
        assert "draft" in page.inner_text("#publication-state")

        # The preview plays the draft; a thumbnail plays it from its own time.
        page.wait_for_selector("#thumbnail-strip button.thumb")
        thumbs = page.locator("#thumbnail-strip button.thumb")
        assert thumbs.count() == 8
        page.evaluate("document.getElementById('preview-player').muted = true")
        later = thumbs.nth(5)
        start = float(later.get_attribute("data-time"))
        assert start >= 6
        later.click()
        page.wait_for_function(f"document.getElementById('preview-player').currentTime > {start + 0.5}",
                               timeout=30_000)
        page.click("button[data-copy=embed-code]")
        page.wait_for_selector("button[data-copy=embed-code]:has-text('Copied')", timeout=5_000)
        embed_code = page.input_value("#embed-code")
        page.screenshot(path=ASSET_PAGE_SCREENSHOT)  # what the editor sees first

        viewer = page.context.new_page()
        assert viewer.goto(embed).status == 404

        page.click("input[name=_publish]")
        page.wait_for_selector("text=Published 1 asset.")
        _plays(viewer, f"{embed}?autoplay=1&muted=1")

        page.click("input[name=_unpublish]")
        page.wait_for_selector("text=Unpublished 1 asset.")
        assert viewer.goto(embed).status == 404
        assert requests.get(master, timeout=10).status_code == 404

        # Published again, 5 s from now: nothing plays before, the embed plays after.
        at = timezone.localtime(timezone.now() + timedelta(seconds=5)).replace(microsecond=0)
        page.fill("#id_publish_at_0", at.strftime("%Y-%m-%d"))
        page.fill("#id_publish_at_1", at.strftime("%H:%M:%S"))
        page.click("input[name=_continue]")
        page.wait_for_url(asset_url)
        assert "scheduled" in page.inner_text("#publication-state")
        before = requests.get(master, timeout=10).status_code
        checked_before = timezone.now() < at
        page.wait_for_timeout(max((at - timezone.now()).total_seconds(), 0) * 1000 + 300)
        _plays(viewer, f"{embed}?autoplay=1&muted=1")
        assert requests.get(master, timeout=10).status_code == 200

        page.goto(f"{platform.base_url}{changelist_url(Asset)}")
        page.screenshot(path=LIBRARY_SCREENSHOT, full_page=True)

    assert f"/embed/{playback_id}" in embed_code and embed_code.startswith("<iframe")
    assert checked_before and before == 404
    asset = Asset.objects.get(title="Harbour at dawn")
    assert asset_url.endswith(change_url(asset))
    assert asset.status == "ready" and asset.playback_ids.get().id == playback_id
    assert asset.publication_status in ("scheduled", "published")
    by_editor = AuditEntry.objects.filter(object_id=asset.id, actor_label="editor",
                                          action__startswith="asset.")
    assert list(by_editor.order_by("id").values_list("action", flat=True)) == [
        "asset.published", "asset.unpublished", "asset.publication_scheduled"]
