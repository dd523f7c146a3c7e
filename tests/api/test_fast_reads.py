"""The short way through a GET (foundation/api/fast_reads.py) answers exactly as the
usual way would, and leaves every other answer to it."""

from __future__ import annotations

import pytest
from rest_framework.views import APIView

from foundation.context import Actor
from foundation.tenancy import api_key_revoke
from tests.api.test_query_counts import make_assets

pytestmark = pytest.mark.django_db

# Headers that differ between any two requests.
_PER_REQUEST = {"X-Request-Id", "RateLimit-Remaining", "RateLimit-Reset"}


@pytest.fixture
def drf_calls(monkeypatch):
    """How many requests went through DRF's checks (authentication, scopes, budgets)."""
    calls = []
    initial = APIView.initial

    def counted(view, request, *args, **kwargs):
        calls.append(request.path)
        return initial(view, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "initial", counted)
    return calls


def _answer(response) -> tuple[int, bytes, dict]:
    return (response.status_code, response.content,
            {name: value for name, value in response.items() if name not in _PER_REQUEST})


def test_a_poll_is_answered_the_short_way_with_the_usual_answer(
        owner, environment, tmp_path, documents_on, drf_calls, django_assert_num_queries,
        settings):
    asset = make_assets(environment, tmp_path, 2)[1]
    path = f"/api/v1/assets/{asset.id}"
    owner.get(path)  # records the key's use and builds the document: the usual way
    assert drf_calls == [path]

    with django_assert_num_queries(0):
        short = owner.get(path)
    assert drf_calls == [path], "the second poll went through DRF"
    settings.API_DOCUMENT_CACHE = "off"
    usual = owner.get(path)

    assert _answer(short) == _answer(usual)
    assert short.json()["status"] == "ready" and short["RateLimit-Limit"]
    assert int(short["RateLimit-Remaining"]) == int(usual["RateLimit-Remaining"]) + 1


def test_a_page_of_the_list_is_the_usual_page(owner, environment, tmp_path, documents_on,
                                              drf_calls, settings):
    make_assets(environment, tmp_path, 5)
    owner.get("/api/v1/assets")
    first = owner.get("/api/v1/assets", {"limit": 2})
    second = owner.get("/api/v1/assets", {"limit": 2, "cursor": first.json()["next_cursor"]})
    assert drf_calls == ["/api/v1/assets"]
    settings.API_DOCUMENT_CACHE = "off"

    assert _answer(first) == _answer(owner.get("/api/v1/assets", {"limit": 2}))
    assert _answer(second) == _answer(owner.get(
        "/api/v1/assets", {"limit": 2, "cursor": first.json()["next_cursor"]}))
    assert len(second.json()["data"]) == 2 and second.json()["next_cursor"]


def test_a_poller_holding_the_document_gets_304_the_short_way(owner, environment, tmp_path,
                                                               documents_on, drf_calls):
    asset = make_assets(environment, tmp_path, 1)[0]
    path = f"/api/v1/assets/{asset.id}"
    etag = owner.get(path)["ETag"]

    again = owner.get(path, HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and again["RateLimit-Limit"]
    assert drf_calls == [path]


def test_what_is_not_plainly_a_200_is_answered_the_usual_way(
        owner, outsider, client_with_scopes, environment, tmp_path, documents_on, drf_calls,
        make_key, settings):
    asset = make_assets(environment, tmp_path, 1)[0]
    path = f"/api/v1/assets/{asset.id}"
    owner.get(path)
    outsider.get(path)
    uploads_only = client_with_scopes("uploads:write")
    uploads_only.get(path)
    drf_calls.clear()

    assert outsider.get(path).status_code == 404  # another environment's asset
    assert uploads_only.get(path).status_code == 403  # no assets:read
    assert owner.get("/api/v1/assets", {"limit": "0"}).status_code == 400
    assert owner.get(path, HTTP_ACCEPT="text/html").status_code == 406
    assert owner.get(f"/api/v1/assets/ast_{'0' * 26}").status_code == 404
    assert len(drf_calls) == 5

    settings.API_RATE_LIMIT_READ = "2/minute"
    drf_calls.clear()
    assert owner.get(path).status_code == 200
    assert owner.get(path).status_code == 200
    refused = owner.get(path)
    assert refused.status_code == 429 and refused["Retry-After"]
    assert refused["Content-Type"] == "application/problem+json"
    assert len(drf_calls) == 1  # only the refusal


def test_a_revoked_key_is_refused_on_its_next_poll(environment, tmp_path, documents_on,
                                                     make_key):
    from tests.conftest import _client

    asset = make_assets(environment, tmp_path, 1)[0]
    key, secret = make_key(environment)
    client = _client(secret)
    path = f"/api/v1/assets/{asset.id}"
    client.get(path)
    assert client.get(path).status_code == 200

    api_key_revoke(key=key, actor=Actor.system("tests"))

    assert client.get(path).status_code == 401


def test_each_poll_spends_one_read_whichever_way_it_is_answered(owner, environment, tmp_path,
                                                                documents_on, settings):
    settings.API_RATE_LIMIT_READ = "50/minute"
    asset = make_assets(environment, tmp_path, 1)[0]
    path = f"/api/v1/assets/{asset.id}"
    owner.get(path)

    answers = [owner.get(path), owner.get(path), owner.get(f"/api/v1/assets/ast_{'0' * 26}"),
               owner.get(path), owner.get("/api/v1/assets", {"limit": "0"}), owner.get(path)]

    assert [a.status_code for a in answers] == [200, 200, 404, 200, 400, 200]
    remaining = [int(a["RateLimit-Remaining"]) for a in answers]
    assert remaining == list(range(remaining[0], remaining[0] - 6, -1))
