from __future__ import annotations

import os
import uuid

import pytest
from django_q.conf import Conf
from rest_framework.test import APIClient

from foundation import credential_failures, documents
from foundation.api import throttling
from foundation.context import Actor
from foundation.tenancy import api_key_create, environment_get_or_create

ADMIN = Actor.system("tests")


@pytest.fixture(autouse=True, scope="session")
def _own_redis_names():
    """Each test process keeps its cache entries, budget windows and channel groups apart
    from every other's on a shared Redis: the other xdist worker's, and another test
    run's on the same machine (each process empties its own budget windows before every
    test, which would otherwise reach into theirs)."""
    from django.conf import settings

    if "default" not in settings.CACHES or "KEY_PREFIX" not in settings.CACHES["default"]:
        return
    name = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{uuid.uuid4().hex[:8]}"
    settings.CACHES["default"]["KEY_PREFIX"] = f"kino-test-{name}"
    layer = settings.CHANNEL_LAYERS["default"]
    if "CONFIG" in layer:
        layer["CONFIG"]["prefix"] = f"asgi-test-{name}"


@pytest.fixture(autouse=True, scope="session")
def _own_metrics_files_removed_at_the_end():
    from tests.metrics import remove_own_files

    yield
    remove_own_files()


@pytest.fixture(autouse=True)
def _no_credential_failures_carried_over():
    """Bad credentials that earlier tests sent from the test client's address (127.0.0.1)
    do not count against this one."""
    credential_failures.reset("127.0.0.1")


@pytest.fixture(autouse=True)
def _no_request_budgets_carried_over():
    """Requests that earlier tests made do not count against this one's API budgets."""
    throttling.reset_all()


@pytest.fixture(autouse=True)
def _no_log_context_carried_over():
    """Each test starts with no request id, environment or caller in its log context and
    leaves none behind: a view called directly, outside the middleware's scope, names its
    caller for that test only."""
    from foundation.context import log_scope

    with log_scope(request_id=None):
        yield


@pytest.fixture(autouse=True)
def _no_documents_carried_over():
    """Each test builds its own documents (foundation/documents.py) in this process."""
    documents.forget_all()


@pytest.fixture
def documents_on(settings):
    """Documents built once per change, and API keys cached, even on the embedded
    process-local cache (one process: a change and the read after it happen in the
    same one). With REDIS_URL both are on anyway."""
    settings.API_DOCUMENT_CACHE = "on"
    settings.API_KEY_CACHE = "on"
    documents.forget_all()


def pytest_generate_tests(metafunc):
    """A test marked `storage` runs on local files and again on a real S3 server."""
    if metafunc.definition.get_closest_marker("storage"):
        metafunc.parametrize("media_backend", ["local", "s3"], indirect=True)


@pytest.fixture
def media_backend(request) -> str:
    """Where this test's media is stored: "local" files, or a bucket on "s3"."""
    return getattr(request, "param", "local")


@pytest.fixture
def bucket(media_backend) -> str | None:
    """The test's own bucket on the S3 server (None on local files)."""
    if media_backend != "s3":
        return None
    from tests import s3_server

    return s3_server.new_bucket()


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings, media_backend, bucket):
    """Each test stores media in its own folder, or, marked `storage`, in its own bucket
    as well (MEDIA_ROOT then holds nothing)."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    if bucket is not None:
        from tests import s3_server

        default = s3_server.storage_settings(bucket)
        settings.UPLOAD_STAGING = "storage"  # as with STORAGE_BACKEND=s3
    else:
        default = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                   "OPTIONS": {"location": str(root)}}
        settings.UPLOAD_STAGING = "disk"
    settings.STORAGES = {**settings.STORAGES, "default": default}
    settings.PROCESSING_TMP_DIR = tmp_path / "work"
    settings.UPLOAD_STAGING_DIR = tmp_path / "staging"
    return root


@pytest.fixture(autouse=True)
def delivery_log(tmp_path, settings):
    """Each test's delivery responses are logged (foundation/usage/) in its own folder."""
    settings.DELIVERY_LOG = tmp_path / "delivery.log"
    return settings.DELIVERY_LOG


@pytest.fixture
def sync_tasks(monkeypatch, transactional_db):
    """Real commits, and enqueued tasks run in-process when they do (django-q2's sync mode)."""
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def environment(db):
    return environment_get_or_create(name="production", actor=ADMIN)


@pytest.fixture
def other_environment(db):
    return environment_get_or_create(name="staging", actor=ADMIN)


@pytest.fixture
def make_key(db):
    def make(environment, scopes="all", name="test key"):
        return api_key_create(environment=environment, name=name,
                              scopes=scopes.split(",") if isinstance(scopes, str) else scopes,
                              actor=ADMIN)

    return make


def _client(secret: str | None) -> APIClient:
    client = APIClient()
    if secret:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def owner(environment, make_key):
    """A client with an all-scopes key of the 'production' environment."""
    _, secret = make_key(environment)
    return _client(secret)


@pytest.fixture
def outsider(other_environment, make_key):
    """A client with an all-scopes key of another environment."""
    _, secret = make_key(other_environment)
    return _client(secret)


@pytest.fixture
def anonymous():
    return _client(None)


@pytest.fixture
def client_with_scopes(environment, make_key):
    def make(scopes: str) -> APIClient:
        _, secret = make_key(environment, scopes)
        return _client(secret)

    return make
