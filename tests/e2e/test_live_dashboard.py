"""A live operator (in Live operators only) creates a named stream in the console, copies
its key from the page shown once, and watches the dashboard in Debian's Chromium while a
real encoder publishes to it through nginx-rtmp and the stream is deleted: every change
reaches the open page over its WebSocket, with no reload. The web server is daphne, so
HTTP (the ingest's reports included) and the socket share one process and its in-memory
layer."""

from __future__ import annotations

import os
import signal

import pytest
import requests
from django.contrib.auth.models import Group

from foundation import roles
from foundation.context import Actor
from foundation.tenancy import api_key_create, environment_get_or_create
from tests.browser import chromium_page

from .live import HAVE_RTMP, publish, start_ingest, stop

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.live,
    pytest.mark.skipif(not HAVE_RTMP, reason="needs nginx, libnginx-mod-rtmp and ffmpeg"),
]

PASSWORD = "s3cret-pw"
SCREENSHOT = "/tmp/live-dashboard.png"
KEY_SCREENSHOT = "/tmp/live-stream-key.png"
LIST_SCREENSHOT = "/tmp/live-streams-list.png"
NAME = "Studio B evening show"


def _api(platform):
    env = environment_get_or_create(name="production", actor=Actor.system("test"))
    _, secret = api_key_create(environment=env, name="dashboard e2e", scopes=["all"],
                               actor=Actor.system("test"))

    def call(method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{platform.base_url}/api/v1/{path}", timeout=10,
                                headers={"Authorization": f"Bearer {secret}"}, **kwargs)

    return call


def _cell(page, stream_id: str, field: str) -> str:
    return page.inner_text(f'tr[data-stream-id="{stream_id}"] [data-field="{field}"]').strip()


def _wait_cell(page, stream_id: str, field: str, condition: str, timeout: float = 30) -> None:
    """Wait until `condition` (JS, on the cell's text `t`) holds."""
    page.wait_for_function(
        f"""() => {{
            const cell = document.querySelector('tr[data-stream-id="{stream_id}"] [data-field="{field}"]');
            const t = cell ? cell.textContent.trim() : null;
            return t !== null && ({condition});
        }}""", timeout=timeout * 1000)


def _stop_web(platform) -> None:
    """Only the web server: the ingest keeps running, and the page's socket drops."""
    os.killpg(platform.web.pid, signal.SIGTERM)
    platform.web.wait(timeout=10)


def test_an_operator_creates_a_named_stream_and_sees_it_go_live_and_disappear_without_reloading(
        platform, django_user_model):
    start_ingest(platform)
    call = _api(platform)
    roles.sync_roles()
    operator = django_user_model.objects.create_user("operator", password=PASSWORD,
                                                     is_staff=True)
    operator.groups.add(Group.objects.get(name=roles.LIVE_OPERATORS))

    with chromium_page() as page:
        page.set_viewport_size({"width": 1400, "height": 900})
        page.goto(f"{platform.base_url}/admin/login/?next=/admin/live/livestream/add/")
        page.fill("#id_username", "operator")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/live/livestream/add/")
        page.fill("#id_name", NAME)
        page.click("input[name=_save]")
        page.wait_for_selector("#stream-key")
        server = page.inner_text("#rtmp-url").strip()
        key = page.inner_text("#stream-key").strip()
        stream_id = key.partition("?key=")[0]
        page.click("button[data-copy=stream-key]")
        page.wait_for_selector("button[data-copy=stream-key]:has-text('Copied')", timeout=5_000)
        page.screenshot(path=KEY_SCREENSHOT, full_page=True)

        page.goto(f"{platform.base_url}/admin/live/dashboard/")
        page.wait_for_selector("#live-connection-state.live")
        page.wait_for_selector(f'tr[data-stream-id="{stream_id}"]', timeout=10_000)
        # Gone if the page reloads.
        page.evaluate("window.stillTheSamePage = true")
        assert _cell(page, stream_id, "stream_id") == stream_id
        assert page.inner_text(f'tr[data-stream-id="{stream_id}"] a').strip() == NAME
        assert _cell(page, stream_id, "status") == "idle"
        assert _cell(page, stream_id, "environment") == "production"
        assert page.get_attribute(f'tr[data-stream-id="{stream_id}"] a', "href") == (
            f"/admin/live/livestream/{stream_id}/change/")
        assert not page.is_visible("tr.live-empty")

        # The server goes away and comes back: the page says so and reconnects by itself.
        # (The page is asked while the server is down: once it is back, the page may
        # reconnect before the test looks.)
        _stop_web(platform)
        page.wait_for_selector("#live-connection-state.reconnecting", timeout=10_000)
        platform.start_web()
        page.wait_for_selector("#live-connection-state.live", timeout=30_000)

        encoder = publish(f"{server}/{key}", seconds=30)
        try:
            _wait_cell(page, stream_id, "status", "t === 'active'")
            _wait_cell(page, stream_id, "bitrate", "parseInt(t.replace(/\\D/g, ''), 10) > 20")
            _wait_cell(page, stream_id, "keyframe_interval", "t !== '—'")
            assert _cell(page, stream_id, "connected") == "connected"
            assert _cell(page, stream_id, "resolution") == "320×180"
            assert 25 <= float(_cell(page, stream_id, "frame_rate").removesuffix(" fps")) <= 35
            assert _cell(page, stream_id, "uptime") != "—"
            assert _cell(page, stream_id, "stalled") == ""
            assert f"{NAME} ({stream_id}) is now active" in page.inner_text("#live-announcer")
            # A recent frame of the stream beside its name (320 wide, as it is sent).
            page.wait_for_function(f"""() => {{
                const img = document.querySelector('tr[data-stream-id="{stream_id}"] img.stream-picture');
                return img && img.complete && img.naturalWidth === 320;
            }}""", timeout=15_000)
            # Nothing scrolls sideways at 1400 px, the page or the table.
            assert page.evaluate("document.documentElement.scrollWidth") <= 1400
            assert page.evaluate("(() => { const box = document.querySelector("
                                 "'.live-dashboard-scroll'); "
                                 "return box.scrollWidth <= box.clientWidth; })()")
            page.screenshot(path=SCREENSHOT, full_page=True)
            # The console's list shows the same picture (another tab: this one stays).
            listing = page.context.new_page()
            listing.set_viewport_size({"width": 1400, "height": 600})
            listing.goto(f"{platform.base_url}/admin/live/livestream/")
            listing.wait_for_function("""() => {
                const img = document.querySelector('img.live-picture');
                return img && img.complete && img.naturalWidth === 320;
            }""", timeout=15_000)
            listing.screenshot(path=LIST_SCREENSHOT)
            listing.close()
        finally:
            stop(encoder)

        _wait_cell(page, stream_id, "connected", "t === 'not connected'")
        assert _cell(page, stream_id, "bitrate") == "—"

        assert call("DELETE", f"live-streams/{stream_id}").status_code == 204
        page.wait_for_selector(f'tr[data-stream-id="{stream_id}"]', state="detached",
                               timeout=10_000)
        assert page.is_visible("tr.live-empty")
        assert page.evaluate("window.stillTheSamePage") is True
