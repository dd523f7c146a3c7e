"""API budgets: per key for reads, writes and new uploads, per address without a key.

Limits are lowered with the settings fixture; the budgets read them at each request.
"""

from __future__ import annotations

import secrets
import time
import types

import limits.storage.memory
import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from foundation.api import throttling

from .conftest import assert_problem, create_upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _windows_start_with_the_test(monkeypatch):
    """Without Redis, limits' MemoryStorage aligns its windows to the clock (a minute's
    starts on the minute), and a test that crossed into the next would see its earlier
    requests weighted down. Its clock here starts the test at the top of a day, which
    begins a window of every period, as a Redis window begins at its first request."""
    offset = time.time() % 86400
    clock = types.SimpleNamespace(time=lambda: time.time() - offset)
    monkeypatch.setattr(limits.storage.memory, "time", clock)


def new_address() -> str:
    """An address no other test (or earlier run, on a shared Redis) has spent budget from."""
    return f"2001:db8:{secrets.randbelow(65536):x}:{secrets.randbelow(65536):x}::7"


@pytest.fixture
def address() -> str:
    return new_address()


def key_client(make_key, environment, **extra) -> APIClient:
    _, secret = make_key(environment)
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def assert_refused(response, *, limit: int) -> dict:
    body = assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["RateLimit-Limit"] == str(limit)
    assert response["RateLimit-Remaining"] == "0"
    assert 1 <= int(response["RateLimit-Reset"]) <= 60
    return body


def test_a_key_over_its_read_budget_gets_429_with_retry_after(owner, settings):
    settings.API_RATE_LIMIT_READ = "3/minute"

    answers = [owner.get("/api/v1/assets") for _ in range(3)]
    refused = owner.get("/api/v1/assets")

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a["RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    body = assert_refused(refused, limit=3)
    assert "3 read requests per minute" in body["detail"]


def test_another_key_keeps_its_own_budget(owner, environment, make_key, settings):
    settings.API_RATE_LIMIT_READ = "2/minute"
    for _ in range(2):
        owner.get("/api/v1/assets")
    assert owner.get("/api/v1/assets").status_code == 429

    other = key_client(make_key, environment)

    assert other.get("/api/v1/assets").status_code == 200


def test_writes_and_reads_have_separate_budgets(owner, settings):
    settings.API_RATE_LIMIT_READ = "2/minute"
    settings.API_RATE_LIMIT_WRITE = "2/minute"
    for _ in range(2):
        owner.get("/api/v1/uploads")
    assert owner.get("/api/v1/uploads").status_code == 429

    first = owner.post("/api/v1/uploads", {}, format="json")
    owner.post("/api/v1/uploads", {}, format="json")
    refused = owner.post("/api/v1/uploads", {}, format="json")

    assert first.status_code == 201, first.content
    assert first["RateLimit-Limit"] == "2" and first["RateLimit-Remaining"] == "1"
    body = assert_refused(refused, limit=2)
    assert "write requests" in body["detail"]


def test_new_uploads_have_a_budget_of_their_own_within_the_writes(owner, settings):
    settings.API_RATE_LIMIT_UPLOADS = "2/minute"
    created = [create_upload(owner) for _ in range(2)]

    refused = owner.post("/api/v1/uploads", {}, format="json")
    other_write = owner.put(f"/api/v1/uploads/{created[0]['id']}/cancel")

    body = assert_refused(refused, limit=2)
    assert "new uploads" in body["detail"]
    assert other_write.status_code == 200, other_write.content


def test_every_answer_tells_the_budget_so_clients_can_pace_themselves(owner):
    response = owner.get("/api/v1/assets")

    assert response.status_code == 200
    assert response["RateLimit-Limit"] == "100"
    assert response["RateLimit-Remaining"] == "99"
    assert response["RateLimit-Reset"] == "1"


def test_requests_without_a_key_have_a_budget_per_address(settings, address):
    settings.API_RATE_LIMIT_ANONYMOUS = "2/minute"
    client = APIClient(REMOTE_ADDR=address)
    for _ in range(2):
        assert client.get("/api/v1/docs/").status_code == 200

    refused = client.get("/api/v1/docs/")
    from_elsewhere = APIClient(REMOTE_ADDR=new_address()).get("/api/v1/docs/")

    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert from_elsewhere.status_code == 200


def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_budget(settings, address):
    settings.API_RATE_LIMIT_ANONYMOUS = "1/minute"
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"

    def via_proxy(client_address: str):
        return APIClient(REMOTE_ADDR=proxy).get(
            "/api/v1/docs/", HTTP_X_FORWARDED_FOR=f"198.51.100.1, {client_address}")

    assert via_proxy(address).status_code == 200
    assert via_proxy(address).status_code == 429
    assert via_proxy(address.replace("::7", "::8", 1)).status_code == 429  # the same /64
    assert via_proxy(new_address()).status_code == 200


def test_remaining_counts_down_by_one_and_the_refusal_says_when_to_retry(owner, settings):
    settings.API_RATE_LIMIT_READ = "5/minute"

    answers = [owner.get("/api/v1/assets") for _ in range(5)]
    refused = owner.get("/api/v1/assets")

    assert [a.status_code for a in answers] == [200] * 5
    assert [a["RateLimit-Remaining"] for a in answers] == ["4", "3", "2", "1", "0"]
    assert {a["RateLimit-Limit"] for a in answers} == {"5"}
    assert all(1 <= int(a["RateLimit-Reset"]) <= 60 for a in answers)
    body = assert_refused(refused, limit=5)
    assert body["detail"].endswith(f"Retry after {refused['Retry-After']} s.")


def test_the_read_path_without_drf_spends_the_same_budget(owner_key, settings):
    settings.API_RATE_LIMIT_READ = "3/minute"
    key, client = owner_key
    plain = [RequestFactory().get("/v/anything") for _ in range(2)]

    spent = [throttling.spend_key_read(request, str(key.pk)) for request in plain]
    answers = [client.get("/api/v1/assets") for _ in range(2)]

    assert spent == [True, True]
    assert [r.rate_limit.remaining for r in plain] == [2, 1]
    assert answers[0].status_code == 200 and answers[0]["RateLimit-Remaining"] == "0"
    assert_refused(answers[1], limit=3)


def test_a_refusal_without_drf_keeps_its_standing_for_the_429(owner_key, settings):
    settings.API_RATE_LIMIT_READ = "1/minute"
    key, client = owner_key
    assert client.get("/api/v1/assets").status_code == 200
    request = RequestFactory().get("/v/anything")

    allowed = throttling.spend_key_read(request, str(key.pk))
    error = throttling.exceeded(request)

    assert allowed is False
    assert request.rate_limit.remaining == 0 and request.rate_limit.limit == 1
    assert 1 <= error.retry_after <= 60
    assert str(error.detail).startswith("This API key has made its 1 read requests per minute.")


@pytest.fixture
def owner_key(environment, make_key):
    """An all-scopes key of the 'production' environment and a client that sends it."""
    key, secret = make_key(environment)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return key, client


def test_budgets_follow_the_settings_that_name_their_storage(settings):
    """A budget is counted where the settings say at the time of the request, not where
    they pointed when the first request of the process came (a test's or a shell's
    change of the cache would otherwise leave windows under another process's names)."""
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": "one"}}
    first = throttling._strategy()
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": "two"}}
    second = throttling._strategy()
    settings.REDIS_URL = None

    assert first.storage.key_prefix == "one-rl"
    assert second.storage.key_prefix == "two-rl"
    assert type(throttling._strategy().storage).__name__ == "MemoryStorage"
