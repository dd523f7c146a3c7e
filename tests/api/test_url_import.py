from __future__ import annotations

import pytest

from media_core.models import Asset, ProcessingJob
from tests.web_servers import fake_dns, web_servers

from .conftest import assert_problem

pytestmark = pytest.mark.storage  # on local files and on an S3 server


@pytest.fixture
def servers():
    with web_servers() as start:
        yield start


@pytest.fixture
def site(servers, settings):
    """A media server on 127.0.0.2, the one address these tests allow."""
    settings.URL_IMPORT_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    return servers("127.0.0.2")


def _create(client, url: str, **fields):
    return client.post("/api/v1/assets", {"input": url, **fields}, format="json")


def test_a_url_on_an_allowed_server_becomes_a_ready_asset(owner, sync_tasks, site, clip):
    site.file("/clip.mp4", clip.read_bytes())

    response = _create(owner, site.url("/clip.mp4"), title="From a URL", passthrough="p-1",
                       playback_policy=["public"])

    assert response.status_code == 201, response.content
    created = response.json()
    assert created["id"].startswith("ast_")
    assert (created["title"], created["passthrough"]) == ("From a URL", "p-1")
    body = owner.get(f"/api/v1/assets/{created['id']}").json()
    assert body["status"] == "ready", body
    assert body["duration"] == pytest.approx(2.0, abs=0.1)
    assert [p["policy"] for p in body["playback_ids"]] == ["public"]
    assert body["errors"] is None


def test_a_created_import_is_preparing_until_a_worker_fetches_it(owner, site):
    response = _create(owner, site.url("/clip.mp4"))

    assert response.status_code == 201
    assert response.json()["status"] == "preparing"
    assert site.hits == 0  # the request only checks; a worker fetches


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/clip.mp4",
    "http://127.0.0.1:8000/api/v1/assets",
    "http://localhost/clip.mp4",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/clip.mp4",
    "http://192.168.1.20/clip.mp4",
    "http://[::1]/clip.mp4",
    "http://[::ffff:127.0.0.1]/clip.mp4",
    "http://0.0.0.0/clip.mp4",
    "http://2130706433/clip.mp4",
    "https://user:hunter2@127.0.0.1/clip.mp4",
])
def test_a_url_to_a_private_or_local_address_is_refused_and_creates_nothing(owner, url, site):
    # 127.0.0.2 is allowed here; its neighbour 127.0.0.1 still is not.
    response = _create(owner, url)

    body = assert_problem(response, 400, "input_refused")
    assert body["detail"] == ("The URL points to a private or local address; only public "
                              "addresses can be imported.")
    assert body["errors"] == {"input": [body["detail"]]}
    assert "hunter2" not in response.content.decode()
    assert not Asset.objects.exists() and not ProcessingJob.objects.exists()


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "ftp://example.com/clip.mp4",
    "gopher://example.com/_GET",
    "data:video/mp4;base64,AAAA",
    "javascript:alert(1)",
    "http:///clip.mp4",
    "example.com/clip.mp4",
    "http://example.com:99999/clip.mp4",
    "",
])
def test_a_url_that_is_not_http_or_https_with_a_host_is_invalid(owner, url):
    response = _create(owner, url)

    body = assert_problem(response, 400, "invalid_request")
    assert list(body["errors"]) == ["input"]
    assert not Asset.objects.exists()


def test_input_is_required(owner):
    response = owner.post("/api/v1/assets", {"title": "No input"}, format="json")

    assert assert_problem(response, 400, "invalid_request")["errors"]["input"]


def test_a_host_that_does_not_resolve_is_refused(owner, monkeypatch):
    import socket

    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)

    response = _create(owner, "https://media.example.test/clip.mp4")

    assert assert_problem(response, 400, "input_unresolvable")["errors"]["input"]


def test_creating_an_asset_from_a_url_needs_assets_write(client_with_scopes, site):
    response = _create(client_with_scopes("assets:read"), site.url("/clip.mp4"))

    assert_problem(response, 403, "forbidden")
    assert not Asset.objects.exists()


def test_an_imported_asset_belongs_to_the_keys_environment(owner, outsider, site):
    created = _create(owner, site.url("/clip.mp4")).json()

    assert_problem(outsider.get(f"/api/v1/assets/{created['id']}"), 404, "not_found")
    assert outsider.get("/api/v1/assets").json()["data"] == []


def test_a_public_looking_url_that_redirects_to_loopback_ends_errored(owner, sync_tasks, site,
                                                                       servers, clip, media_root):
    loopback = servers("127.0.0.1")
    loopback.file("/clip.mp4", clip.read_bytes())
    site.redirect("/clip.mp4", loopback.url("/clip.mp4"))

    created = _create(owner, site.url("/clip.mp4")).json()

    body = owner.get(f"/api/v1/assets/{created['id']}").json()
    assert body["status"] == "errored"
    assert body["errors"]["type"] == "input_refused"
    assert "redirected to a private or local address" in body["errors"]["messages"][0]
    assert loopback.hits == 0
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


def test_a_name_that_rebinds_to_loopback_after_the_check_never_reaches_it(owner, sync_tasks, site,
                                                                          servers, clip,
                                                                          monkeypatch):
    """The name answers the allowed 127.0.0.2 when the request is checked, then 127.0.0.1.
    The worker resolves it again, refuses it, and nothing on 127.0.0.1 sees a request."""
    loopback = servers("127.0.0.1", port=site.port)
    loopback.file("/clip.mp4", b"internal")
    site.file("/clip.mp4", clip.read_bytes())
    lookups = fake_dns(monkeypatch, {"media.example.test": ["127.0.0.2", "127.0.0.1"]})

    response = _create(owner, site.url("/clip.mp4", host="media.example.test"))

    assert response.status_code == 201
    body = owner.get(f"/api/v1/assets/{response.json()['id']}").json()
    assert (body["status"], body["errors"]["type"]) == ("errored", "input_refused")
    assert lookups["media.example.test"] == 2
    assert loopback.hits == 0


def test_a_missing_file_ends_errored_with_the_servers_answer(owner, sync_tasks, site):
    created = _create(owner, site.url("/nothing-here.mp4")).json()

    body = owner.get(f"/api/v1/assets/{created['id']}").json()
    assert body["status"] == "errored"
    assert body["errors"] == {
        "type": "input_unavailable",
        "messages": ["The URL answered 404 Not Found; check that it is public and still valid."],
    }


def test_the_schema_documents_creating_an_asset_from_a_url(owner):
    schema = owner.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/api/v1/assets"]["post"]
    assert "201" in operation["responses"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert "input" in fields["required"]
    assert {"input", "title", "passthrough", "playback_policy",
            "max_duration_seconds"} <= set(fields["properties"])


@pytest.mark.django_db(transaction=True)
def test_the_host_is_resolved_outside_any_transaction_even_with_an_idempotency_key(
        owner, site, monkeypatch):
    """Resolving can take seconds; no database lock may be held meanwhile."""
    import socket

    from django.db import connection

    real = socket.getaddrinfo
    seen = []

    def getaddrinfo(host, *args, **kwargs):
        seen.append(connection.in_atomic_block)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    response = owner.post("/api/v1/assets", {"input": site.url("/clip.mp4")}, format="json",
                          HTTP_IDEMPOTENCY_KEY="import-1")

    assert response.status_code == 201, response.content
    assert seen and not any(seen)
