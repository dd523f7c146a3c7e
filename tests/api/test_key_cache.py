"""Keys authenticated from a cache every process shares, and refused on the request
after their revocation (foundation/key_cache.py).

The shared cache is Redis (`redis`, skipped only when none answers) and, so that a
laptop without one still checks the logic, the embedded cache standing in for a shared
one (`one process`). Without a shared cache (the embedded default) nothing is cached.
"""

from __future__ import annotations

import hashlib
import uuid

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from foundation import key_cache
from foundation.models import ApiKey, AuditEntry
from foundation.tenancy import api_key_authenticate, api_key_revoke
from media_core.models import Upload
from tests.conftest import ADMIN
from tests.shared_cache import redis_cache, redis_url

from .conftest import assert_problem
from .test_auth import bearer

KEY_TABLE = ApiKey._meta.db_table
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                      "LOCATION": "key-cache-tests"}}


@pytest.fixture(params=["redis", "one process"])
def shared_cache(request, settings, monkeypatch):
    if request.param == "redis":
        # A prefix of its own rather than clear(), which would empty the whole Redis
        # database (other test processes' entries, the task queue).
        settings.CACHES = redis_cache(redis_url(), f"kino-test-{uuid.uuid4().hex}")
        assert key_cache.enabled()
    else:
        settings.CACHES = LOCMEM
        cache.clear()
        monkeypatch.setattr(key_cache, "enabled", lambda: True)
    return cache


@pytest.fixture
def embedded_cache(settings):
    settings.CACHES = LOCMEM
    cache.clear()
    assert not key_cache.enabled()
    return cache


def key_queries(client, path: str = "/api/v1/assets", status: int = 200) -> list[str]:
    """The queries of one request that read or write the api key table."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == status, response.content[:300]
    return [q["sql"] for q in captured if KEY_TABLE in q["sql"]]


def entry(secret: str):
    return cache.get(f"api-key:{hashlib.sha256(secret.encode()).hexdigest()}")


# --- with a shared cache ------------------------------------------------------------

@pytest.mark.django_db
def test_a_warm_key_costs_no_query(shared_cache, environment, make_key):
    _, secret = make_key(environment)
    client = bearer(secret)
    first = key_queries(client)

    assert [sql.split()[0] for sql in first] == ["SELECT", "UPDATE"]  # the lookup, last_used_at
    assert key_queries(client) == []
    assert key_queries(client) == []


@pytest.mark.django_db
def test_the_cache_holds_no_secret(shared_cache, environment, make_key):
    key, secret = make_key(environment)
    bearer(secret).get("/api/v1/assets")

    cached = entry(secret)
    assert cached == {"id": key.id, "environment_id": environment.id, "name": key.name,
                      "prefix": key.prefix, "scopes": key.scopes}
    assert secret not in repr(cached)


@pytest.mark.django_db
def test_a_cached_key_acts_with_its_environment_scopes_and_name(shared_cache, environment,
                                                                make_key):
    key, secret = make_key(environment, "uploads:write")
    client = bearer(secret)
    client.get("/api/v1/uploads")
    assert entry(secret) is not None

    created = client.post("/api/v1/uploads",
                          {"new_asset_settings": {"playback_policy": ["public"]}}, format="json")
    refused = client.get("/api/v1/assets")

    assert created.status_code == 201, created.content
    assert Upload.objects.get(id=created.json()["id"]).environment_id == environment.id
    audit = AuditEntry.objects.get(object_id=created.json()["id"], action="upload.created")
    assert (audit.actor_type, audit.actor_id) == ("api_key", key.id)
    assert_problem(refused, 403, "forbidden")


@pytest.mark.django_db
def test_a_key_records_its_use_once_a_minute_without_reading_it(shared_cache, environment,
                                                                 make_key):
    key, secret = make_key(environment)
    client = bearer(secret)

    writes = [sql for _ in range(3) for sql in key_queries(client) if sql.startswith("UPDATE")]

    assert len(writes) == 1
    key.refresh_from_db()
    assert key.last_used_at is not None


@pytest.mark.django_db
def test_an_unknown_secret_is_not_cached(shared_cache, environment):
    secret = "kino_sk_" + "x" * 43

    key_queries(bearer(secret), status=401)

    assert entry(secret) is None


@pytest.mark.django_db(transaction=True)
def test_a_revoked_key_is_refused_on_its_next_request(shared_cache, environment, make_key):
    key, secret = make_key(environment)
    client = bearer(secret)
    assert key_queries(client) and key_queries(client) == []  # warm

    api_key_revoke(key=key, actor=ADMIN)

    response = client.get("/api/v1/assets")
    assert_problem(response, 401, "unauthenticated")
    assert entry(secret) == {"revoked": True}
    assert key_queries(client, status=401) == []  # the tombstone answers


@pytest.mark.django_db(transaction=True)
def test_a_read_made_before_the_revocation_committed_cannot_refill_after_it(
        shared_cache, environment, make_key):
    key, secret = make_key(environment)
    read_before = ApiKey.objects.get(pk=key.pk)  # a concurrent request's lookup, still valid

    api_key_revoke(key=key, actor=ADMIN)
    key_cache.fill(read_before)  # ...which that request caches once the revocation is done

    assert api_key_authenticate(secret) is None
    assert_problem(bearer(secret).get("/api/v1/assets"), 401)


@pytest.mark.django_db(transaction=True)
def test_a_fill_between_the_revocation_and_its_commit_is_replaced_at_commit(
        shared_cache, environment, make_key):
    key, secret = make_key(environment)
    read_before = ApiKey.objects.get(pk=key.pk)

    with transaction.atomic():
        api_key_revoke(key=key, actor=ADMIN)
        key_cache.fill(read_before)  # a concurrent request, between the update and the commit
        assert entry(secret)["id"] == key.id

    assert entry(secret) == {"revoked": True}
    assert api_key_authenticate(secret) is None


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_revocation_leaves_the_key_valid(shared_cache, environment, make_key):
    key, secret = make_key(environment)
    client = bearer(secret)
    client.get("/api/v1/assets")

    with pytest.raises(RuntimeError), transaction.atomic():
        api_key_revoke(key=key, actor=ADMIN)
        raise RuntimeError("the operator's transaction fails")

    assert client.get("/api/v1/assets").status_code == 200
    assert entry(secret)["id"] == key.id


@pytest.mark.django_db(transaction=True)
def test_when_the_tombstone_cannot_be_written_the_next_request_still_reads_the_revocation(
        shared_cache, environment, make_key, monkeypatch, caplog):
    key, secret = make_key(environment)
    client = bearer(secret)
    client.get("/api/v1/assets")

    def unreachable(digest):
        raise ConnectionError("the cache went away")

    monkeypatch.setattr(key_cache, "mark_revoked", unreachable)
    api_key_revoke(key=key, actor=ADMIN)

    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None  # the commit stands
    assert "the cache went away" in caplog.text
    assert_problem(client.get("/api/v1/assets"), 401)


# --- with the embedded cache (per process): no caching ---------------------------------

@pytest.mark.django_db
def test_without_a_shared_cache_each_request_reads_its_key(embedded_cache, environment,
                                                           make_key):
    _, secret = make_key(environment)
    client = bearer(secret)

    queries = [key_queries(client) for _ in range(3)]

    assert [len([q for q in each if q.startswith("SELECT")]) for each in queries] == [1, 1, 1]
    assert entry(secret) is None


@pytest.mark.django_db(transaction=True)
def test_without_a_shared_cache_a_revoked_key_is_refused_on_its_next_request(
        embedded_cache, environment, make_key):
    key, secret = make_key(environment)
    client = bearer(secret)
    assert client.get("/api/v1/assets").status_code == 200

    api_key_revoke(key=key, actor=ADMIN)

    assert_problem(client.get("/api/v1/assets"), 401, "unauthenticated")
