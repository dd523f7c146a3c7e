"""The API's JSON renderer writes the bytes DRF's own renderer wrote, only faster."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from django.utils.functional import lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from foundation.api.renderers import OrjsonRenderer
from tests.clips import random_bytes
from tests.factories import asset_from_file

UTC = dt.UTC


def both(data, accepted_media_type=None, renderer_context=None) -> tuple[bytes, bytes]:
    return (OrjsonRenderer().render(data, accepted_media_type, renderer_context),
            JSONRenderer().render(data, accepted_media_type, renderer_context))


@pytest.mark.parametrize("data", [
    {"id": "ast_1", "title": "Café — 日本語 🎬", "duration": 12.345, "progress": None,
     "ready": True, "bitrate": 2_500_000, "tracks": [], "errors": {}},
    {"created_at": dt.datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC),
     "naive": dt.datetime(2026, 11, 30, 12, 0, 0, 123456), "day": dt.date(2026, 11, 30),
     "time": dt.time(12, 1, 2, 345678)},
    {"price": Decimal("1.10"), "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
     "lazy": lazy(lambda: "later", str)(), "bytes": b"raw", "tuple": (1, 2), "set": {3}},
    {"separator": "a\u2028b\u2029c", "quote": 'say "hi"\n\t\\', "control": "\x00\x1f"},
    ReturnDict({"nested": ReturnList([{"a": 1}, {"b": [1.5, 0.1, 29.97, 0.457, 1e22]}],
                                     serializer=None)},
               serializer=None),
    {"huge": 2**70, "int_keys": {1: "one"}},  # beyond orjson: DRF's renderer writes them
    [],
    "text",
])
def test_it_writes_what_drf_writes(data):
    ours, drf = both(data)

    assert json.loads(ours) == json.loads(drf)
    assert ours == drf


def test_a_tiny_float_is_the_same_number_in_a_shorter_exponent():
    ours, drf = both({"progress": 1e-07})

    assert (ours, drf) == (b'{"progress":1e-7}', b'{"progress":1e-07}')
    assert json.loads(ours) == json.loads(drf)


def test_an_indented_response_on_request_is_drf_s():
    ours, drf = both({"a": [1, 2]}, "application/json; indent=2")

    assert ours == drf and b"\n" in ours


def test_nothing_renders_as_no_body():
    assert OrjsonRenderer().render(None) == b""


@pytest.mark.django_db
def test_the_api_s_documents_are_the_bytes_drf_would_write(owner, environment, tmp_path):
    asset = asset_from_file(environment, random_bytes(tmp_path / "a.mp4", 100), title="x\u2028y")

    for path in (f"/api/v1/assets/{asset.id}", "/api/v1/assets", "/api/v1/events",
                 "/api/v1/audit-log", f"/api/v1/uploads/{asset.upload.id}"):
        response = owner.get(path)
        assert response.status_code == 200
        assert response.content == JSONRenderer().render(response.json()), path
