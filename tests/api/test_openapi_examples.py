"""Every request example in the served schema (what Swagger UI's "Try it out" starts from)
is valid by its operation's own schema and accepted by the server as it stands."""

from __future__ import annotations

import json

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from .openapi_support import PathObjects, json_schema, keep_requests_on_this_machine, operations

pytestmark = pytest.mark.django_db
SCHEMA_URI = "urn:kino:openapi"


@pytest.fixture(autouse=True)
def _no_outbound_requests(monkeypatch, settings):
    keep_requests_on_this_machine(monkeypatch, settings)


@pytest.fixture
def schema(anonymous) -> dict:
    response = anonymous.get("/api/v1/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def request_examples(schema: dict):
    """(path, method, media type, body schema, example name, value) of every request example."""
    for path, method, operation in operations(schema):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            for name, example in content.get("examples", {}).items():
                yield path, method, media_type, content["schema"], name, example["value"]
            if "example" in content:
                yield path, method, media_type, content["schema"], "example", content["example"]


def resolved(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def validator(schema: dict, body_schema: dict) -> Draft4Validator:
    document = Resource(contents=json_schema(schema), specification=DRAFT4)
    registry = Registry().with_resource(SCHEMA_URI, document)
    root = {"$ref": SCHEMA_URI + body_schema["$ref"]} if "$ref" in body_schema else json_schema(body_schema)
    return Draft4Validator(root, registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER)


def test_every_operation_that_takes_a_body_shows_an_example(schema):
    without = [f"{method.upper()} {path}" for path, method, operation in operations(schema)
               if "requestBody" in operation
               and not any("examples" in c or "example" in c
                           for c in operation["requestBody"]["content"].values())]

    assert without == []


def test_every_request_example_matches_its_schema_and_is_accepted(schema, owner):
    objects = PathObjects(owner)
    examples = list(request_examples(schema))
    failures = []

    assert examples
    for path, method, media_type, body_schema, name, value in examples:
        where = f"{method.upper()} {path} example {name!r}"
        errors = [e.message for e in validator(schema, body_schema).iter_errors(value)]
        if errors:
            failures.append(f"{where} breaks its schema: {errors}")
            continue
        url = path.format(**objects.ids_for(path))
        if media_type == "multipart/form-data":  # files as files, the rest as form fields
            properties = resolved(schema, body_schema)["properties"]
            form = {name: SimpleUploadedFile(name, field.encode())
                    if properties[name].get("format") == "binary" else field
                    for name, field in value.items()}
            response = owner.generic(method.upper(), url, encode_multipart(BOUNDARY, form),
                                     content_type=MULTIPART_CONTENT)
        else:
            response = owner.generic(method.upper(), url, json.dumps(value),
                                     content_type=media_type)
        if not 200 <= response.status_code < 300:
            failures.append(f"{where} answered {response.status_code}: {response.content[:300]!r}")

    assert failures == []
