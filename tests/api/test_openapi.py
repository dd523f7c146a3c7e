"""The OpenAPI 3 schema describes the API as it is, and generates without a warning."""

from __future__ import annotations

import re
from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from foundation.api.idempotency import MAX_KEY_LENGTH

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict:
    # Generating the schema takes seconds and reads no rows: once for the module.
    response = APIClient().get("/api/v1/schema/")
    assert response.status_code == 200, response.content[:500]
    return yaml.safe_load(response.content)


def test_the_schema_is_served_without_a_key_as_a_valid_openapi_3_document(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_the_schema_is_served_as_json_on_request(anonymous):
    response = anonymous.get("/api/v1/schema/?format=json")

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_the_schema_lists_the_public_paths(schema):
    paths = schema["paths"]

    for path in ("/api/v1/uploads", "/api/v1/uploads/{upload_id}",
                 "/api/v1/uploads/{upload_id}/cancel", "/api/v1/assets",
                 "/api/v1/assets/{asset_id}", "/api/v1/assets/{asset_id}/retry",
                 "/api/v1/assets/{asset_id}/playback-ids",
                 "/api/v1/assets/{asset_id}/playback-ids/{playback_id}", "/api/v1/events",
                 "/api/v1/events/{event_id}"):
        assert path in paths, path
    assert set(paths["/api/v1/assets/{asset_id}"]) >= {"get", "patch", "delete"}
    assert "post" in paths["/api/v1/uploads"]


def test_the_schema_describes_bearer_authentication(schema):
    schemes = schema["components"]["securitySchemes"]

    assert any(s.get("type") == "http" and s.get("scheme") == "bearer" for s in schemes.values())
    name = next(iter(schemes))
    assert {name: []} in schema["paths"]["/api/v1/assets"]["get"]["security"]


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


@pytest.mark.parametrize("path", ["/api/v1/assets", "/api/v1/uploads", "/api/v1/events"])
def test_a_list_is_described_as_a_cursor_page(schema, path):
    operation = schema["paths"][path]["get"]

    page = resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(page["properties"]) == {"data", "next_cursor"}
    assert page["properties"]["data"]["type"] == "array"
    assert {p["name"] for p in operation.get("parameters", [])} >= {"limit", "cursor"}


def test_the_events_list_documents_its_filters(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/events"]["get"]["parameters"]}

    assert {"type", "after"} <= names


def test_operation_ids_are_unique(schema):
    ids = [op["operationId"] for item in schema["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op]

    assert len(ids) == len(set(ids))


def test_the_schema_command_validates_and_fails_on_no_warning():
    out, err = StringIO(), StringIO()

    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=err)

    assert yaml.safe_load(out.getvalue())["openapi"].startswith("3.")


def test_the_browsable_reference_is_served(anonymous):

    response = anonymous.get("/api/v1/docs/")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def api_operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_every_post_documents_the_idempotency_key_header(schema):
    posts = [(path, op) for path, method, op in api_operations(schema) if method == "post"]

    assert posts
    for path, operation in posts:
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in headers, path


def test_every_operation_documents_its_errors_as_problem_documents(schema):
    for path, method, operation in api_operations(schema):
        default = operation["responses"].get("default")
        assert default, (method, path)
        problem = resolve(schema, default["content"]["application/problem+json"]["schema"])
        assert {"type", "title", "status", "detail"} <= set(problem["required"]), (method, path)


VERBS = {"list", "get", "create", "update", "delete", "cancel", "retry", "enable", "disable",
         "publish", "unpublish",
         "complete", "reset", "rotate", "replay"}


def test_every_operation_id_is_a_verb_and_a_noun(schema):
    for path, method, operation in api_operations(schema):
        verb, _, noun = operation["operationId"].partition("_")
        assert verb in VERBS and noun, (method, path, operation["operationId"])


@pytest.mark.parametrize(("method", "path", "operation_id"), [
    ("get", "/api/v1/assets", "list_assets"),
    ("get", "/api/v1/assets/{asset_id}", "get_asset"),
    ("patch", "/api/v1/assets/{asset_id}", "update_asset"),
    ("post", "/api/v1/uploads", "create_upload"),
    ("put", "/api/v1/uploads/{upload_id}/cancel", "cancel_upload"),
    ("post", "/api/v1/live-streams", "create_live_stream"),
    ("delete", "/api/v1/assets/{asset_id}/playback-ids/{playback_id}", "delete_asset_playback_id"),
])
def test_operation_ids_name_what_the_operation_does(schema, method, path, operation_id):
    assert schema["paths"][path][method]["operationId"] == operation_id


def test_the_idempotency_key_is_constrained_as_the_server_checks_it(schema):
    operation = schema["paths"]["/api/v1/uploads"]["post"]
    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    key = header["schema"]

    assert (key["type"], key["minLength"], key["maxLength"]) == ("string", 1, MAX_KEY_LENGTH)
    pattern = re.compile(key["pattern"])
    for accepted in ("a", "order-1", "7b2a1c0e-5f3d-4c6b-9a8e-2d1f0c3b4a59", "x y", "~" * 255):
        assert pattern.match(accepted), accepted
    for refused in (" a", "a ", "tab\there", "new\nline", "caf\u00e9"):
        assert not pattern.match(refused), refused


def test_a_webhook_endpoint_subscribes_to_at_least_one_event_type(schema):
    for name in ("WebhookEndpointCreateRequest", "PatchedWebhookEndpointUpdateRequest"):
        events = schema["components"]["schemas"][name]["properties"]["events"]
        assert events["minItems"] == 1, name


def test_every_operation_declares_the_problems_it_can_answer(schema):
    for path, method, operation in api_operations(schema):
        responses = operation["responses"]
        expected = {"401", "403", "429"}
        if "{" in path:
            expected.add("404")
        if method == "post":
            expected |= {"400", "409", "422"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in expected:
            problem = resolve(schema, responses[status]["content"]["application/problem+json"]["schema"])
            assert {"type", "title", "status", "detail"} <= set(problem["required"])
    assert "Retry-After" in schema["paths"]["/api/v1/assets"]["get"]["responses"]["429"]["headers"]


def test_every_response_declares_its_request_id_and_rate_limit_headers(schema):
    for path, method, operation in api_operations(schema):
        names = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert "X-Request-Id" in names, (method, path)
        for status, response in operation["responses"].items():
            headers = response["headers"]
            assert headers["X-Request-Id"]["required"] is True, (method, path, status)
            assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(headers)
