"""The webhook endpoints API: validation, isolation, scopes and the audit trail."""

from __future__ import annotations

import pytest

from foundation.models import AuditEntry
from tests.api.conftest import assert_problem
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookSecret

from .conftest import create_endpoint, emit

pytestmark = pytest.mark.django_db


def test_a_private_address_is_refused_unless_the_setting_allows_it(owner, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    for url in ("http://127.0.0.1:8000/hooks", "http://10.1.2.3/hooks", "http://[::1]/x",
                "http://169.254.169.254/latest"):
        response = owner.post("/api/v1/webhook-endpoints", {"url": url}, format="json")
        body = assert_problem(response, 400, "url_refused")
        assert "url" in body["errors"]
    assert_problem(owner.post("/api/v1/webhook-endpoints", {"url": "ftp://example.com/"},
                              format="json"), 400)
    assert not WebhookEndpoint.objects.exists()

    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    created = create_endpoint(owner, "http://127.0.0.1:8000/hooks")
    assert created["events"] == ["*"] and created["enabled"] is True
    # Link-local (cloud metadata) stays refused even then.
    assert_problem(owner.post("/api/v1/webhook-endpoints", {"url": "http://169.254.169.254/"},
                              format="json"), 400, "url_refused")

    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = owner.patch(f"/api/v1/webhook-endpoints/{created['id']}",
                           {"url": "http://192.168.1.10/"}, format="json")
    assert_problem(response, 400, "url_refused")


def test_the_secret_is_shown_once(owner, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    created = create_endpoint(owner, "http://127.0.0.2/hooks", events=["video.asset.ready"])
    assert created["secret"].startswith("whsec_")
    assert WebhookSecret.objects.get(endpoint_id=created["id"]).secret == created["secret"]
    shown = owner.get(f"/api/v1/webhook-endpoints/{created['id']}").json()
    listed = owner.get("/api/v1/webhook-endpoints").json()["data"]
    assert "secret" not in shown and all("secret" not in e for e in listed)
    assert [e["id"] for e in listed] == [created["id"]]
    assert created["id"].startswith("whe_")


def test_patch_delete_and_their_audit_entries(owner, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    created = create_endpoint(owner, "http://127.0.0.2/hooks")
    path = f"/api/v1/webhook-endpoints/{created['id']}"

    response = owner.patch(path, {"events": ["video.asset.ready"], "enabled": False}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["events"] == ["video.asset.ready"] and not response.json()["enabled"]
    assert owner.post(f"{path}/rotate-secret").status_code == 200
    assert owner.delete(path).status_code == 204
    assert owner.get(path).status_code == 404

    entries = AuditEntry.objects.filter(object_id=created["id"]).order_by("id")
    assert [e.action for e in entries] == [
        "webhook_endpoint.created", "webhook_endpoint.updated",
        "webhook_endpoint.secret_rotated", "webhook_endpoint.deleted"]
    assert entries[1].changes["enabled"] == [True, False]
    assert all(e.actor_type == "api_key" for e in entries)
    assert not any("whsec_" in str(e.changes) + e.message for e in entries)


def test_another_environments_objects_are_not_found(owner, outsider, environment, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    created = create_endpoint(owner, "http://127.0.0.2/hooks")
    delivery = WebhookDelivery.objects.get(event=emit(environment))
    base = f"/api/v1/webhook-endpoints/{created['id']}"

    assert_problem(outsider.get(base), 404)
    assert_problem(outsider.patch(base, {"enabled": False}, format="json"), 404)
    assert_problem(outsider.delete(base), 404)
    assert_problem(outsider.post(f"{base}/rotate-secret"), 404)
    assert_problem(outsider.get(f"{base}/deliveries"), 404)
    assert_problem(outsider.post(f"{base}/replay-dead"), 404)
    assert_problem(outsider.post(f"/api/v1/webhook-deliveries/{delivery.id}/retry"), 404)
    assert outsider.get("/api/v1/webhook-endpoints").json()["data"] == []
    assert WebhookEndpoint.objects.get(pk=created["id"]).enabled


def test_the_webhooks_manage_scope_is_required(client_with_scopes):
    client = client_with_scopes("assets:read,events:read")
    assert_problem(client.get("/api/v1/webhook-endpoints"), 403)
    assert_problem(client.post("/api/v1/webhook-endpoints", {"url": "https://example.com/"},
                               format="json"), 403)
