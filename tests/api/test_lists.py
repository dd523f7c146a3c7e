"""Lists: {"data": [...], "next_cursor": ...}, newest first, cursors that page exactly once."""

from __future__ import annotations

import base64
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from foundation import ids
from tests.clips import random_bytes
from tests.factories import asset_from_file, upload_for

from .conftest import assert_problem

pytestmark = pytest.mark.django_db


def make_assets(environment, tmp_path, count: int) -> list[str]:
    """`count` assets, oldest first, each created in a later millisecond than the last."""
    created = []
    for i in range(count):
        asset = asset_from_file(environment, random_bytes(tmp_path / f"{i}.mp4", 100),
                                title=f"asset {i}")
        created.append(asset.id)
        time.sleep(0.002)
    return created


def page_through(client, path: str, limit: int) -> tuple[list[str], list[dict]]:
    seen, pages = [], []
    url = f"{path}?limit={limit}"
    while True:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"data", "next_cursor"}
        pages.append(body)
        seen.extend(item["id"] for item in body["data"])
        if body["next_cursor"] is None:
            return seen, pages
        url = f"{path}?limit={limit}&cursor={body['next_cursor']}"


def test_the_asset_list_pages_through_every_asset_once_newest_first(owner, environment,
                                                                     tmp_path):
    created = make_assets(environment, tmp_path, 5)

    seen, pages = page_through(owner, "/api/v1/assets", limit=2)

    assert seen == list(reversed(created))
    assert [len(p["data"]) for p in pages] == [2, 2, 1]
    assert [p["next_cursor"] is None for p in pages] == [False, False, True]


def test_a_page_that_ends_exactly_at_the_last_asset_has_no_next_cursor(owner, environment,
                                                                       tmp_path):
    created = make_assets(environment, tmp_path, 4)

    seen, pages = page_through(owner, "/api/v1/assets", limit=2)

    assert seen == list(reversed(created))
    assert [len(p["data"]) for p in pages] == [2, 2]
    assert pages[-1]["next_cursor"] is None


def test_the_first_page_shows_the_newest_asset_in_full(owner, environment, tmp_path):
    created = make_assets(environment, tmp_path, 3)

    body = owner.get("/api/v1/assets?limit=2").json()

    assert [a["id"] for a in body["data"]] == created[:0:-1]
    assert isinstance(body["next_cursor"], str)
    newest = body["data"][0]
    assert newest == owner.get(f"/api/v1/assets/{newest['id']}").json()


def test_a_deleted_asset_leaves_the_list(owner, environment, tmp_path):
    created = make_assets(environment, tmp_path, 3)

    assert owner.delete(f"/api/v1/assets/{created[1]}").status_code == 204

    seen, _ = page_through(owner, "/api/v1/assets", limit=1)
    assert seen == [created[2], created[0]]


def test_the_default_page_holds_25_and_100_is_the_most(owner, environment):
    for _ in range(26):
        upload_for(environment)

    default = owner.get("/api/v1/uploads").json()
    largest = owner.get("/api/v1/uploads?limit=100").json()

    assert len(default["data"]) == 25 and default["next_cursor"]
    assert len(largest["data"]) == 26 and largest["next_cursor"] is None


def test_the_upload_list_pages_through_every_upload_once_newest_first(owner, environment):
    created = []
    for _ in range(5):
        created.append(upload_for(environment).id)
        time.sleep(0.002)

    seen, _ = page_through(owner, "/api/v1/uploads", limit=2)

    assert seen == list(reversed(created))


def test_the_event_list_pages_through_every_event_once(owner, environment):
    for _ in range(5):
        upload_for(environment)
    seen, pages = page_through(owner, "/api/v1/events", limit=2)

    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(seen, reverse=True)
    assert pages[-1]["next_cursor"] is None


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "2.5", "1e2"])
def test_a_limit_outside_1_to_100_is_a_400_problem(owner, limit):
    response = owner.get(f"/api/v1/assets?limit={limit}")

    body = assert_problem(response, 400, "invalid_request")
    assert list(body["errors"]) == ["limit"]


@pytest.mark.parametrize("path", ["/api/v1/uploads", "/api/v1/events"])
def test_every_list_checks_its_limit(owner, path):
    assert_problem(owner.get(f"{path}?limit=101"), 400, "invalid_request")


@pytest.mark.parametrize("cursor", [
    "garbage",
    "%ff%fe",
    "!!!!",
    base64.urlsafe_b64encode(b"hello").decode(),
    base64.urlsafe_b64encode(b"ast_").decode(),
    base64.urlsafe_b64encode(b"' OR 1=1 --").decode(),
])
def test_a_cursor_this_api_did_not_give_out_is_a_400_problem(owner, environment, tmp_path,
                                                            cursor):
    make_assets(environment, tmp_path, 2)

    response = owner.get(f"/api/v1/assets?cursor={cursor}")

    body = assert_problem(response, 400, "invalid_request")
    assert list(body["errors"]) == ["cursor"]


def test_a_cursor_of_an_id_still_pages_after_that_object_is_gone(owner, environment, tmp_path):
    created = make_assets(environment, tmp_path, 3)
    first = owner.get("/api/v1/assets?limit=1").json()
    owner.delete(f"/api/v1/assets/{created[2]}")

    rest = owner.get(f"/api/v1/assets?limit=5&cursor={first['next_cursor']}").json()

    assert [a["id"] for a in rest["data"]] == [created[1], created[0]]


def count_queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_the_asset_list_costs_the_same_queries_for_3_or_8_assets(owner, environment, tmp_path,
                                                                 django_assert_max_num_queries,
                                                                 settings):
    settings.API_DOCUMENT_CACHE = "off"  # every document built: the most a page costs
    make_assets(environment, tmp_path, 3)
    owner.get("/api/v1/assets")  # the key's last_used_at write happens once a minute
    few = count_queries(owner, "/api/v1/assets")
    make_assets(environment, tmp_path, 5)

    with django_assert_max_num_queries(few):
        body = owner.get("/api/v1/assets").json()

    assert len(body["data"]) == 8
    assert few <= 8


def test_the_upload_list_costs_the_same_queries_for_3_or_8_uploads(owner, environment,
                                                                   django_assert_max_num_queries):
    for _ in range(3):
        upload_for(environment)
    owner.get("/api/v1/uploads")
    few = count_queries(owner, "/api/v1/uploads")
    for _ in range(5):
        upload_for(environment)

    with django_assert_max_num_queries(few):
        assert len(owner.get("/api/v1/uploads").json()["data"]) == 8


def test_the_event_list_costs_the_same_queries_for_3_or_8_events(owner, environment,
                                                                 django_assert_max_num_queries):
    for _ in range(3):
        upload_for(environment)
    owner.get("/api/v1/events")
    few = count_queries(owner, "/api/v1/events")
    for _ in range(5):
        upload_for(environment)

    with django_assert_max_num_queries(few):
        assert len(owner.get("/api/v1/events").json()["data"]) == 8


def test_uploads_made_in_the_same_millisecond_still_list_newest_first(owner, environment,
                                                                      monkeypatch):
    frozen = time.time_ns()
    monkeypatch.setattr(ids.time, "time_ns", lambda: frozen)
    # Random parts as they may come out: here each smaller than the one before.
    random_parts = iter(range(2**80 - 1, 0, -(2**70)))
    monkeypatch.setattr(ids.secrets, "randbits", lambda bits: next(random_parts))
    created = [upload_for(environment).id for _ in range(3)]

    listed = [u["id"] for u in owner.get("/api/v1/uploads").json()["data"]]

    assert listed == list(reversed(created))
