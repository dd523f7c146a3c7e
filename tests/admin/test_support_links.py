"""Support follows an event, or an asset, to the webhook deliveries it caused."""

from __future__ import annotations

import pytest

from foundation.admin import change_url
from media_core.models import Upload
from tests.api.test_publication import new_asset
from tests.api.test_query_counts import make_deliveries
from webhooks.models import Event, WebhookDelivery

pytestmark = pytest.mark.django_db


def test_an_event_links_to_its_deliveries(admin_client, environment):
    make_deliveries(environment, 1)
    event = Event.objects.get(type="video.upload.created")

    page = admin_client.get(change_url(event)).content.decode()

    assert "1 delivery" in page
    url = f"/admin/webhooks/webhookdelivery/?event__id__exact={event.id}"
    assert url in page
    listed = admin_client.get(url)
    assert listed.status_code == 200 and listed.context["cl"].result_count == 1


def test_an_event_nobody_subscribed_to_says_so(admin_client, environment, owner):
    owner.post("/api/v1/uploads", {}, format="json")
    event = Event.objects.get(type="video.upload.created")

    assert "no endpoint was subscribed" in admin_client.get(change_url(event)).content.decode()


def test_an_asset_links_to_the_deliveries_of_its_events(admin_client, environment, tmp_path):
    make_deliveries(environment, 0)  # an endpoint subscribed to every event
    asset = new_asset(environment, tmp_path)
    sent = WebhookDelivery.objects.filter(event__object_id=asset.id).count()
    assert sent >= 1  # video.asset.created at least

    page = admin_client.get(change_url(asset)).content.decode()

    url = f"/admin/webhooks/webhookdelivery/?event__object_id={asset.id}"
    assert url in page
    listed = admin_client.get(url)
    assert listed.status_code == 200 and listed.context["cl"].result_count == sent
    assert Upload.objects.filter(asset=asset).exists()
