"""GET /api/v1/audit-log: the trail support reads, scoped to the key's environment."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _stream(client) -> dict:
    response = client.post("/api/v1/live-streams", {"playback_policy": ["public"]}, format="json",
                           HTTP_X_REQUEST_ID="req-audit-1")
    assert response.status_code == 201, response.content
    return response.json()


def test_the_audit_log_shows_who_did_what_from_which_request(owner):
    stream = _stream(owner)
    assert owner.post(f"/api/v1/live-streams/{stream['id']}/disable").status_code == 200

    page = owner.get(f"/api/v1/audit-log?object_id={stream['id']}").json()
    actions = [e["action"] for e in page["data"]]
    assert actions == ["live_stream.disabled", "live_stream.created"]  # newest first
    created = page["data"][1]
    assert created["actor"]["type"] == "api_key" and created["actor"]["id"].startswith("key_")
    assert created["object"] == {"type": "live_stream", "id": stream["id"]}
    assert created["request_id"] == "req-audit-1"
    assert page["data"][0]["changes"] == {"status": ["idle", "disabled"]}
    only = owner.get("/api/v1/audit-log?request_id=req-audit-1").json()["data"]
    assert {e["object"]["id"] for e in only} == {stream["id"]}
    assert stream["stream_key"].split("key=")[1] not in str(page)


def test_another_environment_sees_nothing_and_the_scope_is_needed(owner, outsider,
                                                                  client_with_scopes):
    stream = _stream(owner)
    assert outsider.get(f"/api/v1/audit-log?object_id={stream['id']}").json()["data"] == []
    response = client_with_scopes("live:read").get("/api/v1/audit-log")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert client_with_scopes("audit:read").get("/api/v1/audit-log").status_code == 200
