"""An editor (in Editors only, no superuser) in Debian's Chromium: previews a draft on
its asset page, copies its embed code, publishes it so the embed plays in a second page,
and unpublishes it so the embed answers 404."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from foundation import roles
from foundation.admin import change_url, changelist_url
from media_core.models import Asset
from media_core.processing.pipeline import run_job
from tests.browser import chromium_page
from tests.clips import make_clip
from tests.factories import asset_from_file

pytestmark = pytest.mark.e2e

PASSWORD = "ed1tor-pw"
ASSET_PAGE_SCREENSHOT = "/tmp/admin-asset-editor.png"
LIBRARY_SCREENSHOT = "/tmp/admin-library.png"


def test_an_editor_previews_publishes_and_unpublishes(platform, environment, django_user_model,
                                                      tmp_path):
    roles.sync_roles()
    editor = django_user_model.objects.create_user("editor", password=PASSWORD, is_staff=True)
    editor.groups.add(Group.objects.get(name=roles.EDITORS))
    asset = asset_from_file(environment, make_clip(tmp_path / "clip.mp4", seconds=6,
                                                   size="640x360"),
                            title="Harbour at dawn", playback_policy=["public"], publish=False)
    run_job(asset.jobs.get().id)
    asset.refresh_from_db()
    assert (asset.status, asset.publication_status) == ("ready", "draft")
    playback_id = asset.playback_ids.get().id

    with chromium_page() as page:
        page.set_viewport_size({"width": 1400, "height": 900})
        page.goto(f"{platform.base_url}/admin/login/?next={change_url(asset)}")
        page.fill("#id_username", "editor")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"**{change_url(asset)}")

        page.click("#preview-player")
        page.evaluate("document.getElementById('preview-player').muted = true")
        page.evaluate("document.getElementById('preview-player').play()")
        page.wait_for_function("document.getElementById('preview-player').currentTime > 1",
                               timeout=30_000)
        page.click("button[data-copy=embed-code]")
        # The button says so once the clipboard took it.
        page.wait_for_selector("button[data-copy=embed-code]:has-text('Copied')", timeout=5_000)
        embed_code = page.input_value("#embed-code")
        page.screenshot(path=ASSET_PAGE_SCREENSHOT, full_page=True)

        viewer = page.context.new_page()
        assert viewer.goto(f"{platform.base_url}/embed/{playback_id}").status == 404

        page.goto(f"{platform.base_url}{changelist_url(Asset)}")
        page.check(f"input[name=_selected_action][value={asset.id}]")
        page.select_option("select[name=action]", "publish_now")
        page.click("button[name=index]")
        page.wait_for_selector("text=Published 1 asset.")
        page.screenshot(path=LIBRARY_SCREENSHOT, full_page=True)

        viewer.goto(f"{platform.base_url}/embed/{playback_id}?autoplay=1&muted=1")
        viewer.wait_for_function("document.getElementById('player').currentTime > 1",
                                 timeout=30_000)

        page.goto(f"{platform.base_url}{changelist_url(Asset)}")
        page.check(f"input[name=_selected_action][value={asset.id}]")
        page.select_option("select[name=action]", "unpublish_now")
        page.click("button[name=index]")
        page.wait_for_selector("text=Unpublished 1 asset.")
        gone = viewer.goto(f"{platform.base_url}/embed/{playback_id}")

    assert f"/embed/{playback_id}" in embed_code and embed_code.startswith("<iframe")
    assert gone.status == 404
