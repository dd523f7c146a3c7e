"""What the tests that send requests from the OpenAPI schema share: the objects its
paths name, and a network that ends at this machine."""

from __future__ import annotations

import re
import socket

from foundation import outbound

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
TEXT_TRACK = b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello\n"


def keep_requests_on_this_machine(monkeypatch, settings) -> None:
    """Every URL a request names (URL import, webhooks, simulcast) resolves to 127.0.0.1.

    Generated and example inputs name public hosts; none of them may be reached. With
    every name answering 127.0.0.1 (and loopback allowed, so such inputs are still
    accepted and go on to be stored) anything that connects goes to this machine. Names
    looked up past the guard are refused outright.
    """
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):
        if str(host) not in LOOPBACK_NAMES:
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: not resolved in tests")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["127.0.0.1"])
    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
    settings.URL_IMPORT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.SIMULCAST_ALLOW_PRIVATE_TARGETS = True


class PathObjects:
    """Creates through the API the objects a path's parameters name, in the client's
    environment: `ids_for("/api/v1/assets/{asset_id}/playback-ids/{playback_id}")`."""

    def __init__(self, client):
        self.client = client
        self.path = ""

    def ids_for(self, path: str) -> dict[str, str]:
        ids: dict[str, str] = {}
        self.path = path
        for name in re.findall(r"{(\w+)}", path):
            ids[name] = self._make(name, ids)
        return ids

    def _post(self, path: str, body: dict | None = None) -> dict:
        response = self.client.post(path, body or {}, format="json")
        assert response.status_code in (200, 201), (path, response.content[:500])
        return response.json()

    def _newest(self, path: str) -> str:
        return self.client.get(path, {"limit": 1}).json()["data"][0]["id"]

    def _make(self, name: str, ids: dict[str, str]) -> str:
        if name == "upload_id":
            return self._post("/api/v1/uploads")["id"]
        if name == "asset_id":
            asset_id = self._post("/api/v1/assets",
                                  {"input": "https://media.example.com/clip.mp4"})["id"]
            # Publishing now, text tracks and clips need a processed asset (a clip, one
            # long enough for the example's range).
            if self.path.endswith("/publish") or "/tracks" in self.path or "/clips" in self.path:
                from media_core.models import Asset

                Asset.objects.filter(pk=asset_id).update(status=Asset.Status.READY,
                                                         duration=600.0)
            return asset_id
        if name == "stream_id":
            return self._post("/api/v1/live-streams")["id"]
        if name == "playback_id":
            owner = (f"/api/v1/assets/{ids['asset_id']}" if "asset_id" in ids
                     else f"/api/v1/live-streams/{ids['stream_id']}")
            return self._post(f"{owner}/playback-ids", {"policy": "public"})["id"]
        if name == "track_id":
            from django.core.files.uploadedfile import SimpleUploadedFile

            response = self.client.post(
                f"/api/v1/assets/{ids['asset_id']}/tracks", format="multipart",
                data={"file": SimpleUploadedFile("en.vtt", TEXT_TRACK), "language_code": "en"})
            assert response.status_code == 201, response.content[:500]
            return response.json()["id"]
        if name == "target_id":
            return self._post(f"/api/v1/live-streams/{ids['stream_id']}/simulcast-targets",
                              {"url": "rtmp://live.example.com/app", "stream_key": "k"})["id"]
        if name == "endpoint_id":
            return self._post("/api/v1/webhook-endpoints",
                              {"url": "https://hooks.example.com/kino"})["id"]
        if name == "key_id":
            return self._post("/api/v1/signing-keys")["id"]
        if name == "event_id":
            self._post("/api/v1/uploads")
            return self._newest("/api/v1/events")
        if name == "delivery_id":
            endpoint_id = self._make("endpoint_id", ids)
            self._post("/api/v1/uploads")  # an event, delivered to the endpoint
            return self._newest(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries")
        raise LookupError(f"PathObjects cannot make a {name!r} yet: teach it how.")


def operations(schema: dict):
    """(path, method, operation) of every API operation in the schema."""
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def json_schema(node):
    """An OpenAPI 3.0 schema object as JSON Schema: `nullable` becomes a null type."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {k: json_schema(v) for k, v in node.items() if k != "nullable"}
    if not node.get("nullable"):
        return converted
    if "type" in converted:
        return {**converted, "type": [converted["type"], "null"]}
    return {"anyOf": [converted, {"type": "null"}]}
