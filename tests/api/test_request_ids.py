"""X-Request-Id: echoed or made, on every response, in the logs and in what the request wrote."""

from __future__ import annotations

import logging

import pytest

from foundation.logging import RequestIdFilter
from foundation.models import AuditEntry
from media_core.models import ProcessingJob
from webhooks.models import Event

from .conftest import assert_problem, create_upload, put_file

pytestmark = pytest.mark.django_db


def configured_console_handler() -> logging.Handler:
    """The handler settings.LOGGING puts on the root logger: the server's log lines."""
    for handler in logging.getLogger().handlers:
        if any(isinstance(f, RequestIdFilter) for f in handler.filters):
            return handler
    raise AssertionError("no log handler stamps request ids")


@pytest.fixture
def server_log(caplog):
    """caplog on 'kino.request', formatted and filtered like the server's own lines."""
    console = configured_console_handler()
    caplog.handler.setFormatter(console.formatter)
    for log_filter in console.filters:
        caplog.handler.addFilter(log_filter)
    caplog.set_level(logging.INFO, logger="kino.request")
    return caplog


@pytest.mark.parametrize("sent", ["abc-123", "req_client.side:42", "A" * 128])
def test_a_valid_request_id_is_echoed(owner, sent):
    response = owner.get("/api/v1/assets", HTTP_X_REQUEST_ID=sent)

    assert response.status_code == 200
    assert response["X-Request-Id"] == sent


def test_a_request_id_is_made_when_none_is_sent(owner):
    first = owner.get("/api/v1/assets")["X-Request-Id"]
    second = owner.get("/api/v1/assets")["X-Request-Id"]

    assert first.startswith("req_") and second.startswith("req_")
    assert first != second


@pytest.mark.parametrize("sent", ["has spaces", "line\nbreak", "tab\there", "A" * 129, "ünï",
                                  "<script>", ""])
def test_an_unsafe_request_id_is_replaced_by_a_new_one(owner, sent):
    response = owner.get("/api/v1/assets", HTTP_X_REQUEST_ID=sent)

    assert response["X-Request-Id"].startswith("req_")
    assert response["X-Request-Id"] != sent


def test_an_error_response_carries_the_request_id_too(owner, anonymous):
    responses = [
        anonymous.get("/api/v1/assets", HTTP_X_REQUEST_ID="trace-401"),
        owner.get("/api/v1/assets/ast_x", HTTP_X_REQUEST_ID="trace-404"),
        owner.get("/api/v1/nowhere", HTTP_X_REQUEST_ID="trace-url-404"),
        owner.get("/api/v1/assets?limit=0", HTTP_X_REQUEST_ID="trace-400"),
        owner.delete("/api/v1/uploads", HTTP_X_REQUEST_ID="trace-405"),
    ]

    for response, status, sent in zip(responses, (401, 404, 404, 400, 405),
                                      ("trace-401", "trace-404", "trace-url-404", "trace-400",
                                       "trace-405"), strict=True):
        body = assert_problem(response, status)
        assert response["X-Request-Id"] == sent
        assert body["request_id"] == sent


def test_the_upload_url_answers_with_a_request_id(owner, anonymous):
    upload = create_upload(owner)

    response = put_file(anonymous, upload["url"] + "x", b"", HTTP_X_REQUEST_ID="put-1")

    assert_problem(response, 404)
    assert response["X-Request-Id"] == "put-1"


def test_the_request_id_is_in_the_servers_log_line(owner, server_log):
    owner.get("/api/v1/assets", HTTP_X_REQUEST_ID="log-me-1")

    lines = [line for line in server_log.text.splitlines() if "GET /api/v1/assets" in line]
    assert len(lines) == 1
    assert "[log-me-1]" in lines[0]
    assert " 200 " in lines[0]


def test_a_made_up_request_id_is_in_the_log_line_as_well(owner, server_log):
    response = owner.get("/api/v1/assets/ast_x")

    [record] = [r for r in server_log.records if r.name == "kino.request"]
    assert record.request_id == response["X-Request-Id"]
    assert response["X-Request-Id"] in server_log.text
    assert "404" in record.getMessage()


def test_audit_entries_and_events_carry_the_request_id_that_wrote_them(owner):
    response = owner.post("/api/v1/uploads", {"new_asset_settings": {"title": "t"}},
                          format="json", HTTP_X_REQUEST_ID="create-upload-7")
    upload = response.json()

    audit = AuditEntry.objects.get(object_id=upload["id"], action="upload.created")
    event = Event.objects.get(object_id=upload["id"], type="video.upload.created")
    assert audit.request_id == "create-upload-7"
    assert event.request_id == "create-upload-7"


def test_a_cancel_records_its_own_request_id(owner):
    upload = create_upload(owner)

    owner.put(f"/api/v1/uploads/{upload['id']}/cancel", HTTP_X_REQUEST_ID="cancel-9")

    assert AuditEntry.objects.get(object_id=upload["id"], action="upload.cancelled"
                                  ).request_id == "cancel-9"
    assert Event.objects.get(object_id=upload["id"], type="video.upload.cancelled"
                             ).request_id == "cancel-9"


def test_a_made_up_request_id_is_the_one_recorded(owner):
    response = owner.post("/api/v1/uploads", {}, format="json")

    audit = AuditEntry.objects.get(object_id=response.json()["id"], action="upload.created")
    assert audit.request_id == response["X-Request-Id"]


def test_the_request_id_of_the_upload_put_follows_the_work_it_enqueued(owner, anonymous, clip,
                                                                       sync_tasks):
    upload = create_upload(owner)

    response = put_file(anonymous, upload["url"], clip.read_bytes(),
                        HTTP_X_REQUEST_ID="put-and-process")

    asset_id = response.json()["asset_id"]
    job = ProcessingJob.objects.get(asset_id=asset_id)
    assert job.request_id == "put-and-process"
    events = Event.objects.filter(object_id__in=[asset_id, upload["id"]])
    by_type = {e.type: e.request_id for e in events}
    assert by_type["video.asset.created"] == "put-and-process"
    assert by_type["video.upload.asset_created"] == "put-and-process"
    assert by_type["video.asset.ready"] == "put-and-process"
    ready_audit = AuditEntry.objects.get(object_id=asset_id, action="asset.ready")
    assert ready_audit.request_id == "put-and-process"


def test_the_log_line_of_an_upload_put_does_not_carry_the_urls_token(owner, anonymous,
                                                                     server_log):
    upload = create_upload(owner)
    token = upload["url"].rsplit("/", 1)[1]

    put_file(anonymous, upload["url"], b"x" * 10, HTTP_X_REQUEST_ID="put-log")

    [line] = [line for line in server_log.text.splitlines() if "[put-log]" in line]
    assert upload["id"] in line
    assert token not in line
