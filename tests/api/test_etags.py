"""Reads carry an ETag; a poller that sends it back as If-None-Match gets 304 with no body
while the document is unchanged, and the new document as soon as it changes."""

from __future__ import annotations

import pytest
import yaml

from tests.clips import random_bytes
from tests.factories import asset_from_file, upload_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def asset(environment, tmp_path):
    return asset_from_file(environment, random_bytes(tmp_path / "a.mp4", 100), title="Before")


def test_a_read_carries_an_etag_and_the_same_document_the_same_one(owner, asset):
    first = owner.get(f"/api/v1/assets/{asset.id}")
    second = owner.get(f"/api/v1/assets/{asset.id}")

    assert first.status_code == 200
    assert first["ETag"].startswith('"') and first["ETag"].endswith('"')
    assert second["ETag"] == first["ETag"]


def test_polling_with_the_etag_gets_304_with_no_body(owner, asset):
    etag = owner.get(f"/api/v1/assets/{asset.id}")["ETag"]

    again = owner.get(f"/api/v1/assets/{asset.id}", HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert again["X-Request-Id"]
    assert "Content-Type" not in again


def test_after_a_change_the_old_etag_gets_the_new_document(owner, asset):
    etag = owner.get(f"/api/v1/assets/{asset.id}")["ETag"]
    assert owner.patch(f"/api/v1/assets/{asset.id}", {"title": "After"},
                       format="json").status_code == 200

    again = owner.get(f"/api/v1/assets/{asset.id}", HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 200
    assert again.json()["title"] == "After"
    assert again["ETag"] != etag
    assert owner.get(f"/api/v1/assets/{asset.id}",
                     HTTP_IF_NONE_MATCH=again["ETag"]).status_code == 304


def test_a_list_is_polled_the_same_way(owner, environment):
    upload_for(environment)
    etag = owner.get("/api/v1/events")["ETag"]
    assert owner.get("/api/v1/events", HTTP_IF_NONE_MATCH=etag).status_code == 304

    upload_for(environment)

    assert owner.get("/api/v1/events", HTTP_IF_NONE_MATCH=etag).status_code == 200


@pytest.mark.parametrize("header", ['W/{etag}', '"nope", {etag}', "*"])
def test_if_none_match_compares_weakly_and_takes_a_list_or_a_star(owner, asset, header):
    etag = owner.get(f"/api/v1/assets/{asset.id}")["ETag"]

    response = owner.get(f"/api/v1/assets/{asset.id}", HTTP_IF_NONE_MATCH=header.format(etag=etag))

    assert response.status_code == 304


def test_another_etag_gets_the_document(owner, asset):
    response = owner.get(f"/api/v1/assets/{asset.id}", HTTP_IF_NONE_MATCH='"something-else"')

    assert response.status_code == 200
    assert response.json()["id"] == asset.id


def test_a_document_of_another_environment_is_not_revealed_by_its_etag(owner, outsider, asset):
    etag = owner.get(f"/api/v1/assets/{asset.id}")["ETag"]

    response = outsider.get(f"/api/v1/assets/{asset.id}", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 404
    assert "ETag" not in response


def test_writes_and_errors_carry_no_etag(owner, asset):
    patched = owner.patch(f"/api/v1/assets/{asset.id}", {"title": "x"}, format="json")
    missing = owner.get(f"/api/v1/assets/ast_{'0' * 26}", HTTP_IF_NONE_MATCH="*")

    assert "ETag" not in patched
    assert missing.status_code == 404 and "ETag" not in missing


def test_the_schema_declares_the_etag_and_304_on_reads(anonymous):
    schema = yaml.safe_load(anonymous.get("/api/v1/schema/").content)

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if method == "get" and path.startswith("/api/v1/") and "schema" not in path:
                assert "If-None-Match" in headers, path
                assert "ETag" in operation["responses"]["200"]["headers"], path
                assert "content" not in operation["responses"]["304"], path
            elif method != "get":
                assert "304" not in operation["responses"], (method, path)
