"""The OpenAPI 3 schema describes the API as it is, and generates without a warning."""

from __future__ import annotations

from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(anonymous) -> dict:
    response = anonymous.get("/api/v1/schema/")
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
