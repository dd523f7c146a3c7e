"""Support staff (in Support only, not superusers) in Debian's Chromium: paste the
request id a customer quotes and land on what that request did; read the audit,
event, delivery and job lists at 1400 px without scrolling sideways; save and delete
nothing; retry a failed job."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.contrib.auth.models import Group
from django.utils import timezone

from foundation import roles
from foundation.admin import change_url, changelist_url
from foundation.context import Actor
from foundation.models import ApiKey, AuditEntry, Environment
from foundation.tenancy import api_key_create
from live import services as live_services
from live.models import LiveSession, LiveStream, SimulcastTarget
from media_core.models import Asset, PlaybackID, ProcessingJob, Upload
from playback.models import SigningKey
from playback.services import signing_key_create
from tests.browser import chromium_page
from tests.clips import make_clip
from tests.factories import failed_asset
from webhooks import services as webhook_services
from webhooks.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint

from .live import free_port

pytestmark = pytest.mark.e2e

PASSWORD = "supp0rt-pw"
SCREENSHOTS = "/tmp/admin-support-{}.png"
# How many pixels the page, or the list inside it, would scroll sideways.
OVERFLOW = """() => {
    const results = document.querySelector('#changelist .results');
    return Math.max(document.documentElement.scrollWidth - window.innerWidth,
                    results ? results.scrollWidth - results.clientWidth : 0);
}"""


def _failed_deliveries(environment) -> None:
    """Every event so far failed to reach an endpoint on this machine that refuses
    connections: three attempts each, the last an hour ago."""
    endpoint, _ = webhook_services.endpoint_create(
        environment_id=environment.id, url=f"http://127.0.0.1:{free_port()}/kino/webhooks",
        events=["*"], actor=Actor.system("test"))
    now = timezone.now()
    for event in Event.objects.all():
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, attempts=3,
                                                  status=WebhookDelivery.Status.DEAD,
                                                  last_status_code=None)
        for n in range(3):
            WebhookAttempt.objects.create(delivery=delivery, status_code=None,
                                          error="Connection refused", latency_ms=1,
                                          started_at=now - timedelta(hours=1, minutes=-n))


def _live_studio(environment) -> None:
    """A named stream restreamed to one server, which an encoder published to once."""
    actor = Actor.system("test")
    stream, _ = live_services.live_stream_create(
        environment_id=environment.id, actor=actor, playback_policy=["public"],
        new_asset_settings=None, reconnect_window=30, latency_mode="standard",
        name="Studio B evening show")
    live_services.simulcast_target_create(stream=stream, actor=actor,
                                          url="rtmp://127.0.0.1:1935/app",
                                          stream_key="abcdefghijkl")
    started = timezone.now() - timedelta(hours=2)
    session = LiveSession.objects.create(stream=stream, node="ingest-1", app="live",
                                         client_id="42", address="203.0.113.7", via="rtmp")
    LiveSession.objects.filter(pk=session.pk).update(
        started_at=started, ended_at=started + timedelta(minutes=55),
        end_reason="the encoder stopped")


def test_support_finds_a_request_reads_every_list_and_retries_a_failed_job(
        platform, environment, django_user_model, tmp_path):
    roles.sync_roles()
    support = django_user_model.objects.create_user("support", password=PASSWORD,
                                                    is_staff=True)
    support.groups.add(Group.objects.get(name=roles.SUPPORT))
    _, secret = api_key_create(environment=environment, name="Website uploads",
                               scopes=["all"], actor=Actor.system("test"))
    # The customer's request, over HTTP, as their integration made it.
    answer = requests.post(f"{platform.base_url}/api/v1/uploads", json={"new_asset_settings": {
        "title": "Customer's upload", "playback_policy": ["public"]}}, timeout=10,
        headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 201, answer.text
    request_id, upload_id = answer.headers["X-Request-Id"], answer.json()["id"]
    broken = failed_asset(environment, make_clip(tmp_path / "crash.mp4"),
                          title="Interview, encoder crashed")
    failed_job = broken.jobs.get()
    _failed_deliveries(environment)
    _live_studio(environment)
    signing_key_create(environment=environment, actor=Actor.system("test"))
    # Read before the browser starts: Playwright runs an event loop in this thread, and
    # Django refuses database queries while one runs.
    delivery = WebhookDelivery.objects.first()

    with chromium_page() as page:
        page.set_viewport_size({"width": 1400, "height": 900})
        page.goto(f"{platform.base_url}/admin/login/?next=/admin/find/")
        page.fill("#id_username", "support")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/find/")

        page.fill("#id_id", f" {request_id} ")
        page.click("#find-by-id-form input[type=submit]")
        page.wait_for_selector("#request-records")
        records = page.inner_text("#request-records")
        assert f"upload.created {upload_id}" in records
        assert f"video.upload.created {upload_id}" in records
        page.screenshot(path=SCREENSHOTS.format("request"), full_page=True)
        page.click("#request-records h3 a:has-text('1 audit entry')")
        page.wait_for_selector("#result_list")
        assert page.locator("#result_list tbody tr").count() == 1

        too_wide = []
        for name, model in [("audit", AuditEntry), ("events", Event),
                            ("deliveries", WebhookDelivery), ("endpoints", WebhookEndpoint),
                            ("jobs", ProcessingJob), ("assets", Asset), ("uploads", Upload),
                            ("playback-ids", PlaybackID), ("api-keys", ApiKey),
                            ("environments", Environment), ("signing-keys", SigningKey),
                            ("live-streams", LiveStream), ("live-sessions", LiveSession),
                            ("simulcast-targets", SimulcastTarget)]:
            page.goto(f"{platform.base_url}{changelist_url(model)}")
            page.wait_for_selector("#result_list")
            page.screenshot(path=SCREENSHOTS.format(name), full_page=True)
            overflow = page.evaluate(OVERFLOW)
            if overflow > 0:
                too_wide.append(f"{name} by {overflow} px")
        assert too_wide == [], "these lists scroll sideways at 1400 px"

        # Reading, never writing: no save button and no delete link on any page.
        for obj in (broken, failed_job, delivery):
            page.goto(f"{platform.base_url}{change_url(obj)}")
            assert page.locator("input[name=_save], a.deletelink").count() == 0

        page.goto(f"{platform.base_url}{changelist_url(ProcessingJob)}?status__exact=failed")
        page.check(f"input[name=_selected_action][value={failed_job.id}]")
        page.select_option("select[name=action]", "retry_asset")
        page.click("button[name=index]")
        page.wait_for_selector("text=Retrying 1 asset.")

    broken.refresh_from_db()
    assert broken.status == Asset.Status.PREPARING
    assert broken.jobs.filter(status=ProcessingJob.Status.QUEUED).count() == 1
    retried = AuditEntry.objects.get(object_id=broken.id, action="asset.retried")
    assert retried.actor_label == "support"
