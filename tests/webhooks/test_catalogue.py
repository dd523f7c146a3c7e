"""One catalogue of event types and audit actions: an unknown name fails where it is used."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml
from django.db import transaction
from rest_framework.test import APIClient

from foundation.audit import UnknownAuditAction, all_actions, audit_record
from foundation.context import Actor
from tests.api.conftest import assert_problem
from webhooks import catalogue
from webhooks.models import Event, WebhookEndpoint
from webhooks.services import event_emit

from .conftest import create_endpoint, emit

ROOT = Path(__file__).resolve().parents[2]
APPS = ["foundation", "webhooks", "media_core", "playback", "live"]
# The functions that take an event type or an audit action.
EMITTERS = {"event_emit", "asset_event", "stream_event", "target_event", "_emit", "audit_record",
            "_audit", "asset_audit", "stream_audit", "_job_audit"}

# The types the API contract names (API.md, "Events and webhooks").
CONTRACT = [
    "video.upload.asset_created", "video.upload.errored", "video.upload.cancelled",
    "video.asset.created", "video.asset.ready", "video.asset.errored", "video.asset.deleted",
    "video.asset.live_stream_completed", "video.live_stream.connected",
    "video.live_stream.active", "video.live_stream.disconnected", "video.live_stream.idle",
    "video.live_stream.simulcast_target.broadcasting",
    "video.live_stream.simulcast_target.errored",
]


def test_every_type_the_api_contract_names_is_in_the_catalogue():
    missing = [name for name in CONTRACT if not catalogue.is_known(name)]

    assert missing == []


def test_the_readme_lists_the_catalogue_as_it_is():
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `([a-z_.]+)` \| ([a-z_]+) \| (.+) \|$", readme, re.MULTILINE)

    assert rows == [(t.name, t.object_type, t.description) for t in catalogue.all_types()]


@pytest.mark.django_db
def test_emitting_an_undeclared_type_raises_and_writes_nothing(environment):
    with pytest.raises(catalogue.UnknownEventType, match="video.asset.redy"):
        emit(environment, type="video.asset.redy")

    assert not Event.objects.exists()


@pytest.mark.django_db
def test_an_event_carries_the_object_its_type_declares(environment):
    with pytest.raises(ValueError, match="carries a asset, not a upload"), transaction.atomic():
        event_emit(environment_id=environment.id, type="video.asset.ready",
                   object_type="upload", object_id="upl_x", data={})


@pytest.mark.django_db
def test_writing_an_undeclared_audit_action_raises(environment):
    with pytest.raises(UnknownAuditAction, match="asset.delted"):
        audit_record(actor=Actor.system(), action="asset.delted", object_type="asset",
                     object_id="ast_x", environment_id=environment.id)


@pytest.mark.django_db
def test_an_endpoint_cannot_subscribe_to_an_unknown_type(owner, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    response = owner.post("/api/v1/webhook-endpoints", {
        "url": "http://127.0.0.2/hooks", "events": ["video.asset.ready", "video.asset.redy"],
    }, format="json")

    body = assert_problem(response, 400, "invalid_request")
    assert body["errors"] == {"events": ["Unknown event type 'video.asset.redy'."]}
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_an_endpoint_may_subscribe_to_everything_or_to_known_types(owner, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    every = create_endpoint(owner, "http://127.0.0.2/hooks", events=["*"])
    some = create_endpoint(owner, "http://127.0.0.2/hooks",
                           events=["video.asset.ready", "video.live_stream.active"])

    assert every["events"] == ["*"]
    assert some["events"] == ["video.asset.ready", "video.live_stream.active"]


@pytest.mark.django_db
def test_an_endpoint_cannot_be_changed_to_an_unknown_type(owner, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    created = create_endpoint(owner, "http://127.0.0.2/hooks", events=["video.asset.ready"])

    response = owner.patch(f"/api/v1/webhook-endpoints/{created['id']}",
                           {"events": ["video.live_stream.actve"]}, format="json")

    body = assert_problem(response, 400, "invalid_request")
    assert body["errors"] == {"events": ["Unknown event type 'video.live_stream.actve'."]}
    assert WebhookEndpoint.objects.get(pk=created["id"]).events == ["video.asset.ready"]


@pytest.mark.django_db
def test_listing_events_of_an_unknown_type_is_refused(owner, environment):
    emit(environment, type="video.asset.ready")

    body = assert_problem(owner.get("/api/v1/events?type=video.asset.redy"), 400,
                          "invalid_request")
    assert body["errors"] == {"type": ["Unknown event type 'video.asset.redy'."]}
    listed = owner.get("/api/v1/events?type=video.asset.ready").json()["data"]
    assert [e["type"] for e in listed] == ["video.asset.ready"]


@pytest.mark.django_db
def test_the_schema_lists_the_catalogue():
    schema = yaml.safe_load(APIClient().get("/api/v1/schema/").content)
    names = catalogue.names()

    components = schema["components"]["schemas"]
    for component in ("WebhookEndpointCreateRequest", "PatchedWebhookEndpointUpdateRequest"):
        items = components[component]["properties"]["events"]["items"]
        ref = items["allOf"][0]["$ref"] if "allOf" in items else items["$ref"]
        assert components[ref.rsplit("/", 1)[1]]["enum"] == ["*", *names], component
    parameters = schema["paths"]["/api/v1/events"]["get"]["parameters"]
    type_parameter = next(p for p in parameters if p["name"] == "type")
    assert type_parameter["schema"]["enum"] == names


def _spelt_out(call: ast.Call, names: set[str]) -> list[tuple[int, str]]:
    """Arguments that spell a declared name, or build a type at run time (an f-string)."""
    found = []
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        if isinstance(arg, ast.Constant) and arg.value in names:
            found.append((arg.lineno, arg.value))
        elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant) and (
                str(arg.values[0].value).startswith("video.")):
            found.append((arg.lineno, ast.unparse(arg)))
    return found


def test_emitters_and_auditors_use_the_declared_constants_not_literals():
    names = {t.name for t in catalogue.all_types()} | {a.name for a in all_actions()}
    offenders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if path.name in ("events.py", "audit_actions.py") or "migrations" in path.parts:
                continue
            for call in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if not isinstance(call, ast.Call):
                    continue
                if getattr(call.func, "id", getattr(call.func, "attr", "")) not in EMITTERS:
                    continue
                offenders += [f"{path.relative_to(ROOT)}:{line}: {name}"
                              for line, name in _spelt_out(call, names)]

    assert offenders == []
