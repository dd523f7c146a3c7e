"""A live operator watches the dashboard in Debian's Chromium while a stream is created,
published to by a real encoder through nginx-rtmp, and deleted: every change reaches the
open page over its WebSocket, with no reload. The web server is daphne, so HTTP (the
ingest's reports included) and the socket share one process and its in-memory layer."""

from __future__ import annotations

import os
import signal

import pytest
import requests

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


def test_an_operator_sees_a_stream_appear_go_live_and_disappear_without_reloading(
        platform, django_user_model):
    start_ingest(platform)
    call = _api(platform)
    django_user_model.objects.create_user("operator", password=PASSWORD, is_staff=True)

    with chromium_page() as page:
        page.goto(f"{platform.base_url}/admin/login/?next=/admin/live/dashboard/")
        page.fill("#id_username", "operator")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/live/dashboard/")
        page.wait_for_selector("#live-connection-state.live")
        assert page.is_visible("tr.live-empty")
        # Gone if the page reloads.
        page.evaluate("window.stillTheSamePage = true")

        response = call("POST", "live-streams", json={"playback_policy": ["public"]})
        assert response.status_code == 201, response.text
        created = response.json()
        stream_id = created["id"]
        page.wait_for_selector(f'tr[data-stream-id="{stream_id}"]', timeout=10_000)
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

        encoder = publish(f"{created['rtmp_url']}/{created['stream_key']}", seconds=30)
        try:
            _wait_cell(page, stream_id, "status", "t === 'active'")
            _wait_cell(page, stream_id, "bitrate", "parseInt(t.replace(/\\D/g, ''), 10) > 20")
            _wait_cell(page, stream_id, "keyframe_interval", "t !== '—'")
            assert _cell(page, stream_id, "connected") == "connected"
            assert _cell(page, stream_id, "resolution") == "320×180"
            assert 25 <= float(_cell(page, stream_id, "frame_rate")) <= 35
            assert _cell(page, stream_id, "uptime") != "—"
            assert _cell(page, stream_id, "stalled") == "—"
            assert "is now active" in page.inner_text("#live-announcer")
            page.screenshot(path=SCREENSHOT, full_page=True)
        finally:
            stop(encoder)

        _wait_cell(page, stream_id, "connected", "t === 'not connected'")
        assert _cell(page, stream_id, "bitrate") == "—"

        assert call("DELETE", f"live-streams/{stream_id}").status_code == 204
        page.wait_for_selector(f'tr[data-stream-id="{stream_id}"]', state="detached",
                               timeout=10_000)
        assert page.is_visible("tr.live-empty")
        assert page.evaluate("window.stillTheSamePage") is True
