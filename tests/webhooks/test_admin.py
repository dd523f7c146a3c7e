"""The webhooks in the operator console: deliveries found by id, attempts, retry."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from foundation.admin import change_url, changelist_url
from webhooks.models import WebhookDelivery, WebhookEndpoint

from .conftest import create_endpoint, emit


@pytest.fixture
def support_client(client, django_user_model):
    """Staff who may view the webhooks and change nothing."""
    user = django_user_model.objects.create_user("support", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_",
                                                        content_type__app_label="webhooks"))
    client.force_login(user)
    return client


def run_action(client, model, action: str, objects):
    return client.post(changelist_url(model), {
        "action": action, "index": 0, "_selected_action": [obj.pk for obj in objects]},
        follow=True)


@pytest.fixture
def dead_delivery(owner, environment, receiver, fast_retries, sync_tasks):
    fast_retries.WEBHOOK_RETRY_SCHEDULE = "0"
    created = create_endpoint(owner, receiver.url())
    receiver.default = 500
    delivery = WebhookDelivery.objects.get(event=emit(environment))
    delivery.refresh_from_db()
    assert delivery.status == "dead"
    delivery.secret = created["secret"]
    return delivery


def test_search_finds_a_delivery_by_its_id_by_its_event_and_by_its_endpoint(admin_client,
                                                                            dead_delivery):
    other = WebhookDelivery.objects.get(event=emit(dead_delivery.endpoint.environment,
                                                   object_id="ast_other"))
    for query in (dead_delivery.id, dead_delivery.event_id):
        page = admin_client.get(changelist_url(WebhookDelivery, q=query)).content.decode()
        assert dead_delivery.id in page and other.id not in page
    page = admin_client.get(changelist_url(WebhookDelivery, q=dead_delivery.endpoint_id))
    assert dead_delivery.id in page.content.decode()


def test_a_delivery_shows_its_attempts_and_the_dead_filter_finds_it(admin_client, dead_delivery,
                                                                   environment):
    page = admin_client.get(change_url(dead_delivery)).content.decode()
    assert "500" in page and "receiver says no" in page
    dead = admin_client.get(changelist_url(WebhookDelivery, health="dead")).content.decode()
    assert dead_delivery.id in dead
    failing = admin_client.get(changelist_url(WebhookDelivery, health="failing")).content.decode()
    assert dead_delivery.id not in failing


def test_the_endpoint_page_never_shows_a_secret(admin_client, dead_delivery):
    endpoint = WebhookEndpoint.objects.get(pk=dead_delivery.endpoint_id)
    for url in (change_url(endpoint), changelist_url(WebhookEndpoint)):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert "whsec_" not in page.content.decode()
        assert dead_delivery.secret not in page.content.decode()


def test_retry_delivery_action_sends_it_again(admin_client, dead_delivery, receiver):
    receiver.default = 200
    response = run_action(admin_client, WebhookDelivery, "retry_deliveries", [dead_delivery])

    assert "Queued again 1" in response.content.decode()
    dead_delivery.refresh_from_db()
    assert dead_delivery.status == "succeeded"
    assert [r["status"] for r in receiver.requests] == [500, 200]


def test_support_staff_may_look_but_not_retry(support_client, dead_delivery):
    assert support_client.get(change_url(dead_delivery)).status_code == 200
    run_action(support_client, WebhookDelivery, "retry_deliveries", [dead_delivery])
    dead_delivery.refresh_from_db()
    assert dead_delivery.status == "dead"
