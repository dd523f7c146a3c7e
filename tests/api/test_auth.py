"""Who may call the API: a valid, unrevoked key carrying the scope the call needs."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from foundation.tenancy import api_key_revoke
from tests.conftest import ADMIN

from .conftest import assert_problem

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_call_without_a_key_gets_401_with_a_bearer_challenge(anonymous):
    response = anonymous.get("/api/v1/assets")

    body = assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in body["detail"]


def test_a_post_without_a_key_gets_401_too(anonymous):
    response = anonymous.post("/api/v1/uploads", {}, format="json")

    assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_key_gets_401(environment):
    response = bearer("kino_sk_" + "x" * 43).get("/api/v1/assets")

    assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc"])
def test_a_malformed_authorization_header_gets_401(anonymous, header):
    anonymous.credentials(HTTP_AUTHORIZATION=header)

    response = anonymous.get("/api/v1/assets")

    assert_problem(response, 401, "unauthenticated")


def test_a_revoked_key_gets_401(environment, make_key):
    key, secret = make_key(environment)
    client = bearer(secret)
    assert client.get("/api/v1/assets").status_code == 200

    api_key_revoke(key=key, actor=ADMIN)

    response = client.get("/api/v1/assets")
    body = assert_problem(response, 401, "unauthenticated")
    assert "revoked" in body["detail"]


def test_the_401_does_not_echo_the_key_it_was_given(environment, make_key):
    key, secret = make_key(environment)
    api_key_revoke(key=key, actor=ADMIN)

    response = bearer(secret).get("/api/v1/assets")

    assert_problem(response, 401)
    assert secret not in response.content.decode()
    assert secret[8:] not in response.content.decode()


def test_a_key_with_only_assets_read_cannot_create_an_upload(client_with_scopes):
    response = client_with_scopes("assets:read").post("/api/v1/uploads", {}, format="json")

    body = assert_problem(response, 403, "forbidden")
    assert "uploads:write" in body["detail"]


def test_a_key_with_only_uploads_write_cannot_list_assets(client_with_scopes):
    response = client_with_scopes("uploads:write").get("/api/v1/assets")

    body = assert_problem(response, 403, "forbidden")
    assert "assets:read" in body["detail"]


def test_listing_events_needs_events_read(client_with_scopes):
    refused = client_with_scopes("assets:read,assets:write,uploads:write").get("/api/v1/events")
    allowed = client_with_scopes("events:read").get("/api/v1/events")

    body = assert_problem(refused, 403, "forbidden")
    assert "events:read" in body["detail"]
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("scopes", "method", "path", "needed"),
    [
        ("assets:read", "patch", "/api/v1/assets/ast_00000000000000000000000000", "assets:write"),
        ("assets:read", "delete", "/api/v1/assets/ast_00000000000000000000000000", "assets:write"),
        ("assets:read", "post", "/api/v1/assets/ast_00000000000000000000000000/retry",
         "assets:write"),
        ("assets:read,assets:write", "post",
         "/api/v1/assets/ast_00000000000000000000000000/playback-ids", "playback:write"),
        ("assets:read,assets:write", "delete",
         "/api/v1/assets/ast_00000000000000000000000000/playback-ids/pbk_00000000000000000000000000",
         "playback:write"),
        ("assets:read", "get", "/api/v1/uploads", "uploads:write"),
        ("assets:read", "put", "/api/v1/uploads/upl_00000000000000000000000000/cancel",
         "uploads:write"),
        ("uploads:write", "get", "/api/v1/events/evt_00000000000000000000000000", "events:read"),
    ],
)
def test_each_operation_refuses_a_key_without_its_scope(client_with_scopes, scopes, method, path,
                                                        needed):
    client = client_with_scopes(scopes)

    response = getattr(client, method)(path, {}, format="json")

    body = assert_problem(response, 403, "forbidden")
    assert needed in body["detail"]


def test_the_scope_check_comes_before_the_lookup_so_a_403_reveals_nothing(client_with_scopes):
    response = client_with_scopes("uploads:write").get("/api/v1/assets/ast_doesnotexist")

    assert_problem(response, 403, "forbidden")


def test_a_key_with_every_scope_may_list_everything(owner):
    for path in ("/api/v1/assets", "/api/v1/uploads", "/api/v1/events"):
        response = owner.get(path)
        assert response.status_code == 200, (path, response.content)
        assert response.json() == {"data": [], "next_cursor": None}


def test_a_key_records_when_it_was_last_used(environment, make_key):
    key, secret = make_key(environment)
    assert key.last_used_at is None

    bearer(secret).get("/api/v1/assets")

    key.refresh_from_db()
    assert key.last_used_at is not None
