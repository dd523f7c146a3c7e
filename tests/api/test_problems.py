"""Every API error is an RFC 9457 problem document, and none of them leaks anything."""

from __future__ import annotations

import base64

import pytest

from foundation.api.problems import exception_handler
from media_core import selectors
from tests.clips import random_bytes
from tests.factories import asset_from_file

from .conftest import assert_problem, create_upload

pytestmark = pytest.mark.django_db


def test_an_invalid_field_is_named_in_errors(owner):
    response = owner.post("/api/v1/uploads", {"timeout": 5}, format="json")

    body = assert_problem(response, 400, "invalid_request")
    assert list(body["errors"]) == ["timeout"]
    assert body["errors"]["timeout"] == ["Ensure this value is greater than or equal to 60."]


def test_an_unknown_playback_policy_is_named_in_errors(owner):
    response = owner.post("/api/v1/uploads",
                          {"new_asset_settings": {"playback_policy": ["bogus"]}}, format="json")

    body = assert_problem(response, 400, "invalid_request")
    [(field, messages)] = body["errors"].items()
    assert field.startswith("new_asset_settings.playback_policy")
    assert messages == ['"bogus" is not a valid choice.']


def test_an_error_inside_a_list_is_named_by_its_index(owner):
    response = owner.post("/api/v1/uploads",
                          {"new_asset_settings": {"playback_policy": ["public", "bogus"]}},
                          format="json")

    body = assert_problem(response, 400, "invalid_request")
    assert body["errors"] == {
        "new_asset_settings.playback_policy[1]": ['"bogus" is not a valid choice.']}


def test_errors_map_each_field_to_a_list_of_strings(owner):
    response = owner.post("/api/v1/uploads", {
        "timeout": "soon",
        "cors_origin": "x" * 300,
        "new_asset_settings": {"title": 7 * "t" * 100, "playback_policy": "public"},
    }, format="json")

    body = assert_problem(response, 400, "invalid_request")
    assert set(body["errors"]) == {"timeout", "cors_origin", "new_asset_settings.title",
                                   "new_asset_settings.playback_policy"}
    for field, messages in body["errors"].items():
        assert isinstance(messages, list) and messages, field
        assert all(isinstance(m, str) and m for m in messages), field


def test_a_missing_required_field_is_named_in_errors(owner, environment, tmp_path):
    asset = asset_from_file(environment, random_bytes(tmp_path / "a.mp4", 100))

    response = owner.post(f"/api/v1/assets/{asset.id}/playback-ids", {}, format="json")

    body = assert_problem(response, 400, "invalid_request")
    assert body["errors"] == {"policy": ["This field is required."]}


def test_a_body_that_is_not_an_object_is_a_400_problem(owner):
    response = owner.post("/api/v1/uploads", [1, 2], format="json")

    body = assert_problem(response, 400, "invalid_request")
    assert body["errors"]


def test_malformed_json_is_a_400_problem(owner):
    response = owner.generic("POST", "/api/v1/uploads", b'{"new_asset_settings": {',
                             content_type="application/json")

    assert_problem(response, 400, "malformed_request")


def test_malformed_json_in_a_patch_is_a_400_problem(owner, environment, tmp_path):
    asset = asset_from_file(environment, random_bytes(tmp_path / "a.mp4", 100))

    response = owner.generic("PATCH", f"/api/v1/assets/{asset.id}", b"{title:",
                             content_type="application/json")

    assert_problem(response, 400, "malformed_request")


def test_a_body_that_is_not_json_is_a_415_problem(owner):
    response = owner.generic("POST", "/api/v1/uploads", b"title=x",
                             content_type="application/x-www-form-urlencoded")

    assert_problem(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/assets/ast_x/nope",
                                  "/api/v1/assets/", "/api/v2/assets"])
def test_an_unknown_url_under_the_api_is_a_404_problem(owner, path):
    assert_problem(owner.get(path), 404, "not_found")


def test_an_unknown_url_under_the_api_is_a_404_problem_even_without_a_key(anonymous):
    assert_problem(anonymous.get("/api/v1/nothing-here"), 404, "not_found")


def test_an_unknown_asset_is_a_404_problem(owner):
    assert_problem(owner.get("/api/v1/assets/ast_00000000000000000000000000"), 404, "not_found")


def test_an_unknown_upload_is_a_404_problem(owner):
    assert_problem(owner.get("/api/v1/uploads/upl_00000000000000000000000000"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("delete", "/api/v1/uploads", {"GET", "POST"}),
        ("put", "/api/v1/assets", {"GET"}),
        ("post", "/api/v1/assets/ast_00000000000000000000000000", {"GET", "PATCH", "DELETE"}),
        ("get", "/api/v1/uploads/upl_00000000000000000000000000/cancel", {"PUT"}),
        ("get", "/api/v1/assets/ast_00000000000000000000000000/playback-ids", {"POST"}),
        ("post", "/api/v1/events", {"GET"}),
    ],
)
def test_a_method_the_resource_does_not_have_is_a_405_problem(owner, method, path, allowed):
    response = getattr(owner, method)(path, {}, format="json")

    assert_problem(response, 405, "method_not_allowed")
    assert allowed <= {m.strip() for m in response["Allow"].split(",")}


def test_an_unexpected_failure_is_a_500_problem_that_leaks_nothing(owner, monkeypatch, settings):
    def explode(**kwargs):
        raise RuntimeError(f"boom at /work/main/media_core/selectors.py with {settings.SECRET_KEY}"
                           " and kino_sk_abcdef")

    monkeypatch.setattr(selectors, "asset_page_ids", explode)

    response = owner.get("/api/v1/assets")

    body = assert_problem(response, 500, "internal_error")
    assert "boom" not in response.content.decode()
    assert body["request_id"] == response["X-Request-Id"]


def test_the_exception_handler_answers_every_exception_with_a_problem():
    response = exception_handler(KeyError("/work/secret"), {})

    assert response.status_code == 500
    assert response.data["status"] == 500
    assert "/work/" not in str(response.data)


def test_a_problem_carries_the_request_id_of_its_response(owner):
    response = owner.get("/api/v1/assets/ast_00000000000000000000000000",
                         HTTP_X_REQUEST_ID="support-ticket-42")

    body = assert_problem(response, 404)
    assert body["request_id"] == "support-ticket-42"
    assert response["X-Request-Id"] == "support-ticket-42"


def test_the_type_of_a_problem_is_a_uri_naming_its_code(owner):
    body = assert_problem(owner.get("/api/v1/assets/ast_x"), 404, "not_found")

    assert body["type"] == "urn:kino:problem:not_found"


def test_no_error_body_contains_a_trace_a_path_or_a_secret(owner, anonymous, environment,
                                                           make_key):
    """A sweep over the errors a client can provoke; assert_problem checks each body."""
    _, secret = make_key(environment, "assets:read")
    upload = create_upload(owner)
    bad_upload_url = upload["url"].rsplit("/", 1)[0] + "/" + base64.urlsafe_b64encode(
        b"x" * 24).decode()
    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}x")
    cases = [
        (anonymous.get("/api/v1/assets"), 401),
        (owner.post("/api/v1/uploads", {"timeout": "x"}, format="json"), 400),
        (owner.generic("POST", "/api/v1/uploads", b"{", content_type="application/json"), 400),
        (owner.get("/api/v1/assets?limit=abc"), 400),
        (owner.get("/api/v1/assets?cursor=%ff%fe"), 400),
        (owner.get("/api/v1/events?after=../../etc/passwd"), 400),
        (owner.get("/api/v1/assets/ast_x"), 404),
        (owner.get("/api/v1/nothing"), 404),
        (owner.generic("PUT", bad_upload_url.replace("http://127.0.0.1:8000", ""), b"x"), 404),
        (owner.put(f"/api/v1/uploads/{upload['id']}/cancel"), 200),
        (owner.put(f"/api/v1/uploads/{upload['id']}/cancel"), 409),
        (owner.post("/api/v1/uploads", {}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 300), 400),
    ]
    for response, status in cases:
        if status < 400:
            assert response.status_code == status, response.content
            continue
        assert_problem(response, status)
