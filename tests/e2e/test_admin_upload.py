"""An editor uploads a video from the admin in Debian's Chromium: tus-js-client sends it
in chunks, a connection reset on one chunk is retried from the server's offset, and the
asset page then shows processing until the asset is ready."""

from __future__ import annotations

import re
import time

import pytest

from foundation.models import AuditEntry
from media_core.models import Asset, Upload
from tests.browser import chromium_page
from tests.clips import make_clip, probe

pytestmark = pytest.mark.e2e

CHUNK = 128 * 1024
PASSWORD = "s3cret-pw"
SCREENSHOT = "/tmp/admin-upload.png"
ABORTED_PATCH = 3
HELD_PATCH = 5


def _wait_until(page, condition, what: str, timeout: float = 30) -> None:
    # page.wait_for_timeout lets Playwright run the route handlers meanwhile.
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(50)


def _small_chunks(platform) -> None:
    """Restart the web server with small chunks, so that one file takes many PATCHes."""
    platform.stop()
    platform.env["ADMIN_UPLOAD_CHUNK_BYTES"] = str(CHUNK)
    platform.start_web()


def _open_upload_page(page, platform) -> None:
    page.goto(f"{platform.base_url}/admin/login/?next=/admin/media_core/asset/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/media_core/asset/")
    page.click("text=Upload video")
    page.wait_for_url("**/admin/media_core/asset/upload/")
    assert page.get_attribute("#upload-form", "data-chunk-size") == str(CHUNK)


def test_an_editor_uploads_through_a_dropped_connection_and_watches_processing(
        platform, environment, django_user_model, tmp_path):
    _small_chunks(platform)
    editor = django_user_model.objects.create_superuser("editor", "editor@example.com", PASSWORD)
    source = make_clip(tmp_path / "clip.mp4", seconds=10, size="640x360")
    size = source.stat().st_size
    assert size > (HELD_PATCH + 2) * CHUNK, "the clip should take more chunks than the test holds"

    patches: list[str] = []
    failed: list[tuple[str, str]] = []
    answers: list[tuple[str, int]] = []
    held = {}

    def on_upload_url(route, request):
        if request.method == "PATCH":
            patches.append(request.headers.get("upload-offset"))
            if len(patches) == ABORTED_PATCH:
                route.abort("connectionreset")
                return
            if len(patches) == HELD_PATCH:
                held["patch"] = route  # answered once the screenshot is taken
                return
        route.continue_()

    def on_status(route, request):
        if "status" not in held:
            held["status"] = route  # answered once the finished bar is read
            return
        route.continue_()

    with chromium_page() as page:
        page.on("requestfailed", lambda r: failed.append((r.method, r.url)))
        page.on("response", lambda r: answers.append((r.request.method, r.status))
                if "/upload/upl_" in r.url and "/admin/" not in r.url else None)

        _open_upload_page(page, platform)

        page.route(re.compile(r"/upload/upl_[^/]+/[^/]+$"), on_upload_url)
        page.route(re.compile(r"/admin/media_core/asset/upload/upl_[^/]+/status/$"), on_status)
        page.select_option("#id_environment", environment.id)
        page.fill("#id_title", "Harbour at dawn")
        page.set_input_files("#id_file", str(source))
        page.click("#upload-submit")

        _wait_until(page, lambda: "patch" in held, "the held PATCH")
        page.wait_for_timeout(200)  # let the bar paint what arrived so far
        assert page.is_visible("#upload-bar")
        assert not page.is_visible("#upload-problem")
        mid_value = float(page.eval_on_selector("#upload-bar", "bar => bar.value"))
        mid_text = page.inner_text("#upload-text")
        page.screenshot(path=SCREENSHOT)
        held["patch"].continue_()

        _wait_until(page, lambda: "status" in held, "the upload to finish", timeout=60)
        final_value = float(page.eval_on_selector("#upload-bar", "bar => bar.value"))
        final_text = page.inner_text("#upload-text")
        problem = page.inner_text("#upload-problem") if page.is_visible("#upload-problem") else ""
        held["status"].continue_()

        page.wait_for_url(re.compile(r"/admin/media_core/asset/ast_[^/]+/change/$"), timeout=30_000)
        # No worker yet: the asset page opens while the asset is surely preparing, polls
        # the job's progress, and reloads itself once the asset is ready.
        first_state = page.inner_text(".field-state .readonly").strip()
        polls = []
        page.on("response", lambda r: polls.append(r.status) if r.url.endswith("/progress/") else None)
        page.wait_for_function("document.getElementById('job-progress') !== null")
        platform.start_worker()
        page.wait_for_function(
            "document.querySelector('.field-state .readonly')?.textContent.trim() === 'ready'",
            timeout=120_000)
        asset_page_title = page.inner_text("h2")

    upload = Upload.objects.get(status=Upload.Status.ASSET_CREATED)
    asset = Asset.objects.get(pk=upload.asset_id)

    assert problem == ""
    assert 0 < mid_value < 100
    assert re.fullmatch(r"\d+ % · [\d.]+ MB of [\d.]+ MB", mid_text), mid_text
    assert final_value == 100
    megabytes = f"{size / 1024**2:.1f} MB"
    assert final_text == f"100 % · {megabytes} of {megabytes}"
    # The reset chunk was sent again from the offset the server reported, and the rest after it.
    assert [m for m, _ in failed if m == "PATCH"] == ["PATCH"]
    assert patches[ABORTED_PATCH] == patches[ABORTED_PATCH - 1]
    assert [int(offset) for offset in patches] == sorted(int(offset) for offset in patches)
    assert ("HEAD", 200) in answers
    assert answers.count(("PATCH", 204)) == len(patches) - 1
    assert len(patches) == -(-size // CHUNK) + 1
    assert asset.title in asset_page_title and asset.title == "Harbour at dawn"
    assert first_state == "preparing" and polls and set(polls) == {200}
    assert asset.status == Asset.Status.READY
    assert asset.duration == pytest.approx(float(probe(str(source))["format"]["duration"]), abs=0.3)
    assert upload.filename == "clip.mp4" and upload.size_bytes == size
    entry = AuditEntry.objects.get(object_id=upload.id, action="upload.created")
    assert (entry.actor_type, entry.actor_id) == ("user", str(editor.pk))


def test_a_refused_chunk_stops_with_a_message_and_choosing_the_file_again_resumes(
        platform, environment, django_user_model, tmp_path):
    _small_chunks(platform)
    django_user_model.objects.create_superuser("editor", "editor@example.com", PASSWORD)
    source = make_clip(tmp_path / "clip.mp4", seconds=4, size="640x360")
    size = source.stat().st_size
    offsets: list[int] = []

    def on_upload_url(route, request):
        if request.method == "PATCH":
            offsets.append(int(request.headers["upload-offset"]))
            if len(offsets) == 2:
                # Not a dropped connection but an answer tus does not retry, as a proxy
                # refusing the request would give.
                route.fulfill(status=403, content_type="application/problem+json",
                              body='{"title": "Forbidden", "detail": "Refused by the proxy."}')
                return
        route.continue_()

    with chromium_page() as page:
        _open_upload_page(page, platform)
        page.route(re.compile(r"/upload/upl_[^/]+/[^/]+$"), on_upload_url)
        page.set_input_files("#id_file", str(source))
        page.click("#upload-submit")
        page.wait_for_selector("#upload-problem:visible")
        message = page.inner_text("#upload-problem")
        stopped_at = float(page.eval_on_selector("#upload-bar", "bar => bar.value"))
        assert page.eval_on_selector("#id_file", "input => input.files.length") == 0

        page.set_input_files("#id_file", str(source))
        page.wait_for_url(re.compile(r"/admin/media_core/asset/ast_[^/]+/change/$"), timeout=60_000)

    upload = Upload.objects.get()
    assert message.startswith("The upload failed: the server answered 403 (Refused by the proxy.)")
    assert "Choose the file again" in message
    assert 0 < stopped_at < 100
    # The second attempt went on from the refused chunk's offset: nothing was sent twice
    # but that chunk, and no second upload was made.
    assert offsets[2] == offsets[1] == CHUNK
    assert upload.status == Upload.Status.ASSET_CREATED and upload.size_bytes == size
