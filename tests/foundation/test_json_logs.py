"""LOG_FORMAT=json: one object a line, with the request id, environment, caller, the ids
of the objects concerned and the transition; credentials redacted."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings as django_settings
from django.db import transaction
from django.test import AsyncClient
from django_q import tasks as q_tasks
from django_q.signing import SignedPackage
from rest_framework.test import APIClient

from foundation.context import current_caller, identify, log_scope
from foundation.logging import JsonFormatter, RequestIdFilter
from foundation.statemachine import transition
from foundation.tasks import enqueue
from media_core.models import Upload
from tests.api.conftest import clip, create_upload, put_file  # noqa: F401 (clip: a fixture)
from tests.factories import upload_for
from tests.webhooks.receiver import receiver as start_receiver

pytestmark = pytest.mark.django_db
CONTEXT_KEYS = {"time", "level", "logger", "message", "request_id", "environment", "caller"}


@pytest.fixture
def json_log():
    """Every line logged while the test runs, as LOG_FORMAT=json writes it: the
    configured console's filters, the JSON formatter. Returns a function that parses them."""
    console = next(h for h in logging.getLogger().handlers
                   if any(isinstance(f, RequestIdFilter) for f in h.filters))
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    for log_filter in console.filters:
        handler.addFilter(log_filter)
    root = logging.getLogger()
    kino = logging.getLogger("kino")
    levels = (root.level, kino.level)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    kino.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        kino.setLevel(levels[1])


@pytest.fixture
def keyed(environment, make_key):
    """The owner's client and the id of its API key."""
    key, secret = make_key(environment)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, key.id


def request_line(lines: list[dict], request_id: str) -> dict:
    [line] = [x for x in lines if x["logger"] == "kino.request" and x["request_id"] == request_id]
    return line


def transitions(lines: list[dict], object_id: str) -> list[dict]:
    return [x for x in lines if x.get("transition", {}).get("id") == object_id]


def log_a_line(request_id: str | None = None) -> None:
    """A task (run by the worker in a test below)."""
    logging.getLogger("kino.tasks").info("working")


def run_in_a_process(code: str, **environ: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != "LOG_FORMAT"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **environ)
    return subprocess.run(
        [sys.executable, "-c", "import django, logging; django.setup()\n" + code],
        cwd=Path(django_settings.BASE_DIR), env=env, capture_output=True, text=True, timeout=120)


# --- the format ---------------------------------------------------------------------
def test_with_log_format_json_each_line_is_one_object_with_the_context_keys():
    done = run_in_a_process(
        "log = logging.getLogger('kino.check')\n"
        "log.info('PUT /upload/upl_1/UpLoAdToKeN 200', extra={'asset_id': 'ast_1'})\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n    log.exception('failed')\n",
        LOG_FORMAT="json")

    assert done.returncode == 0, done.stderr
    every = [json.loads(line) for line in done.stderr.splitlines()]
    assert all(CONTEXT_KEYS <= line.keys() for line in every)
    lines = [line for line in every if line["logger"] == "kino.check"]
    assert [line["message"] for line in lines] == ["PUT /upload/upl_1/[token] 200", "failed"]
    assert lines[0]["level"] == "INFO"
    assert lines[0]["asset_id"] == "ast_1" and lines[0]["request_id"] is None
    assert "ZeroDivisionError" in lines[1]["exc_info"]


def test_the_plain_format_stays_the_default_and_another_is_refused():
    plain = run_in_a_process("logging.getLogger('kino.check').info('hello')")
    wrong = run_in_a_process("", LOG_FORMAT="xml")

    assert plain.returncode == 0, plain.stderr
    assert plain.stderr.rstrip().endswith("INFO kino.check [-] hello")
    assert wrong.returncode != 0
    assert "LOG_FORMAT must be plain or json, not 'xml'" in wrong.stderr


# --- who, where, which request ------------------------------------------------------
def test_an_api_request_line_names_its_request_environment_and_key(keyed, environment, json_log):
    client, key_id = keyed

    client.get("/api/v1/assets", HTTP_X_REQUEST_ID="req-json-1")

    line = request_line(json_log(), "req-json-1")
    assert line["environment"] == environment.id
    assert line["caller"] == key_id
    assert line["message"].startswith("GET /api/v1/assets 200")


def test_an_answer_from_built_documents_names_the_key_as_well(keyed, environment, json_log,
                                                              documents_on):
    client, key_id = keyed
    client.get("/api/v1/assets")  # the key's use recorded: the next read takes the short way

    client.get("/api/v1/assets", HTTP_X_REQUEST_ID="req-json-fast")

    line = request_line(json_log(), "req-json-fast")
    assert (line["caller"], line["environment"]) == (key_id, environment.id)


def test_nothing_of_a_request_is_left_for_the_next_one(keyed, anonymous, json_log):
    client, _ = keyed
    client.get("/api/v1/assets", HTTP_X_REQUEST_ID="req-with-key")

    anonymous.get("/healthz", HTTP_X_REQUEST_ID="req-anonymous")

    line = request_line(json_log(), "req-anonymous")
    assert line["caller"] is None and line["environment"] is None
    assert current_caller() is None


def test_an_api_request_under_asgi_names_its_key_as_well(transactional_db, environment,
                                                        make_key, json_log):
    key, secret = make_key(environment, name="served by daphne")

    async_to_sync(AsyncClient().get)("/api/v1/assets", headers={
        "Authorization": f"Bearer {secret}", "X-Request-Id": "req-asgi"})

    line = request_line(json_log(), "req-asgi")
    assert (line["caller"], line["environment"]) == (key.id, environment.id)


def test_an_admin_action_names_the_signed_in_user(transactional_db, client, django_user_model,
                                                  environment, json_log):
    user = django_user_model.objects.create_superuser("ops", password="pw")
    client.force_login(user)
    upload = upload_for(environment)

    client.post("/admin/media_core/upload/", {"action": "cancel", "index": 0,
                                              "_selected_action": [upload.id]},
                HTTP_X_REQUEST_ID="req-admin")

    lines = json_log()
    assert request_line(lines, "req-admin")["caller"] == f"user:{user.pk}"
    [moved] = transitions(lines, upload.id)
    assert moved["transition"]["to"] == "cancelled"
    assert (moved["request_id"], moved["caller"], moved["environment"]) == (
        "req-admin", f"user:{user.pk}", environment.id)


# --- redaction ------------------------------------------------------------------------
def test_credentials_are_redacted_in_the_message_the_extras_and_the_traceback(json_log):
    log = logging.getLogger("kino.check")
    upload_url = "https://kino.example/upload/upl_0123/UpLoAdToKeN"
    playback = "/v/pbk_0123.m3u8?token=eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl"
    publish = "rtmp://ingest.example:1935/live/lvs_0123?key=StReAmKeY42"

    log.info("PUT %s, GET %s, publish %s", upload_url, playback, publish,
             extra={"url": upload_url, "urls": [playback], "ingest": {"publish": publish}})
    try:
        raise ValueError(f"could not reach {publish} for {playback}")
    except ValueError:
        log.exception("ingest refused %s", upload_url)

    text = json.dumps(json_log())
    for secret in ("UpLoAdToKeN", "eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl", "StReAmKeY42"):
        assert secret not in text
    first, second = json_log()
    assert first["url"] == "https://kino.example/upload/upl_0123/[token]"
    assert first["urls"] == ["/v/pbk_0123.m3u8?token=[token]"]
    assert first["ingest"]["publish"].endswith("lvs_0123?key=[secret]")
    assert "lvs_0123?key=[secret] for /v/pbk_0123.m3u8?token=[token]" in second["exc_info"]


# --- transitions --------------------------------------------------------------------
def test_a_transition_is_one_info_line_with_the_object_and_both_states(
        transactional_db, keyed, environment, json_log):
    client, key_id = keyed
    upload = create_upload(client)

    client.put(f"/api/v1/uploads/{upload['id']}/cancel", HTTP_X_REQUEST_ID="req-cancel")

    [line] = transitions(json_log(), upload["id"])
    assert line["transition"] == {"object": "upload", "id": upload["id"], "from": "waiting",
                                  "to": "cancelled"}
    assert line["level"] == "INFO" and line["logger"] == "kino.transitions"
    assert line["upload_id"] == upload["id"]
    assert (line["request_id"], line["environment"], line["caller"]) == (
        "req-cancel", environment.id, key_id)


def test_a_transition_rolled_back_is_not_logged(keyed, json_log,
                                                django_capture_on_commit_callbacks):
    client, _ = keyed
    upload = Upload.objects.get(pk=create_upload(client)["id"])

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            transition(upload, Upload.TRANSITIONS, Upload.Status.CANCELLED)
            raise RuntimeError("undone")

    assert transitions(json_log(), upload.id) == []


# --- tasks ----------------------------------------------------------------------------
def test_a_task_logs_with_the_request_environment_and_caller_that_queued_it(
        monkeypatch, json_log):
    queued = []

    class Broker:  # the queue a worker would take the package from
        list_key = "test"

        def enqueue(self, pack):
            queued.append(pack)

    monkeypatch.setattr(q_tasks, "get_broker", lambda *args: Broker())
    with log_scope(request_id="req-task-1"):
        identify(caller="key_from_the_request", environment="env_of_the_request")
        enqueue("tests.foundation.test_json_logs.log_a_line")
    enqueue("tests.foundation.test_json_logs.log_a_line")  # as the schedule queues one

    for pack in queued:  # a worker runs them, away from the request (on this connection)
        q_tasks._sync(SignedPackage.dumps({**SignedPackage.loads(pack), "sync": True}))

    first, second = [x for x in json_log() if x["message"] == "working"]
    assert (first["request_id"], first["environment"], first["caller"]) == (
        "req-task-1", "env_of_the_request", "key_from_the_request")
    assert (second["request_id"], second["environment"], second["caller"]) == (
        None, None, "system")
    assert current_caller() is None


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    with start_receiver() as server:
        yield server


def test_the_request_id_follows_the_work_into_the_task_and_the_webhook_delivery(
        keyed, anonymous, environment, clip, receiver, sync_tasks, json_log):  # noqa: F811
    client, _ = keyed
    assert client.post("/api/v1/webhook-endpoints",
                       {"url": receiver.url(), "events": ["video.asset.ready"]},
                       format="json").status_code == 201
    upload = create_upload(client)

    response = put_file(anonymous, upload["url"], clip.read_bytes(),
                        HTTP_X_REQUEST_ID="req-test-123")

    asset_id = response.json()["asset_id"]
    lines = [x for x in json_log() if x["request_id"] == "req-test-123"]
    moves = {(x["transition"]["object"], x["transition"]["to"]) for x in lines
             if "transition" in x}
    assert {("processing job", "running"), ("processing job", "succeeded"),
            ("asset", "ready"), ("webhook delivery", "succeeded")} <= moves
    job = next(x for x in lines if x.get("transition", {}).get("object") == "processing job")
    assert job["asset_id"] == asset_id and job["job_id"].startswith("job_")
    [delivered] = [x for x in lines if x.get("transition", {}).get("object") == "webhook delivery"]
    assert delivered["environment"] == environment.id
    assert delivered["event_id"].startswith("evt_") and delivered["endpoint_id"].startswith("whe_")
    assert len(receiver.requests) == 1


def test_a_request_to_an_upload_url_names_the_upload_and_its_environment(
        environment, anonymous, json_log):
    from media_core.upload_urls import upload_url
    from tests.api.conftest import path_of

    upload = upload_for(environment)

    anonymous.options(path_of(upload_url(upload)), HTTP_X_REQUEST_ID="req-upload-url")

    line = request_line(json_log(), "req-upload-url")
    assert (line["caller"], line["environment"]) == (upload.id, environment.id)
    assert "[token]" in line["message"]
