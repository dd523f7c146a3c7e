"""What the live tests share: an ingest node's calls as nginx-rtmp and the runner make them."""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.test import Client

from live.ingest.recordings import Recordings

NODE = "edge-1"
ENCODER_ADDRESS = "198.51.100.7"
# The `call` field nginx-rtmp sends with each callback.
CALLS = {"on_publish": "publish", "on_publish_done": "publish_done",
         "on_update": "update_publish", "on_record_done": "record_done"}


def split_key(stream_key: str) -> tuple[str, str]:
    """An encoder's stream key `{id}?key={secret}` as nginx-rtmp splits it: name and secret."""
    name, _, secret = stream_key.partition("?key=")
    return name, secret


def create_stream(client, **body) -> dict:
    body.setdefault("playback_policy", ["public"])
    response = client.post("/api/v1/live-streams", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def ingest_url(event: str, *, node: str = NODE, secret: str | None = None) -> str:
    return f"/live/ingest/{secret or settings.LIVE_INGEST_SECRET}/{node}/{event}"


class Ingest:
    """One ingest node calling the platform: nginx-rtmp's callbacks (form POSTs with the
    publish URL's query args among the fields) and the runner's JSON reports."""

    def __init__(self, node: str = NODE):
        self.node = node
        self.http = Client()

    def call(self, event: str, *, name: str, client_id: str = "1", app: str = "live",
             secret: str | None = None, **extra):
        fields = {"app": app, "name": name, "addr": ENCODER_ADDRESS, "clientid": client_id,
                  "call": CALLS.get(event, event), **extra}
        return self.http.post(ingest_url(event, node=self.node, secret=secret), fields)

    def publish(self, stream_key: str, *, client_id: str = "1", app: str = "live", **extra):
        name, key = split_key(stream_key)
        args = {"key": key} if key else {}
        return self.call("on_publish", name=name, client_id=client_id, app=app, **args, **extra)

    def publish_done(self, stream_id: str, *, client_id: str = "1", app: str = "live"):
        return self.call("on_publish_done", name=stream_id, client_id=client_id, app=app)

    def update(self, stream_id: str, *, client_id: str = "1", app: str = "live"):
        return self.call("on_update", name=stream_id, client_id=client_id, app=app)

    def record_done(self, stream_id: str, path: str, *, client_id: str = "1", app: str = "live"):
        return self.call("on_record_done", name=stream_id, client_id=client_id, app=app,
                         path=path, recorder="")

    def report(self, streams: list[dict] | None = None, relays: list[dict] | None = None,
               final: bool = False, recordings: list[dict] | None = None,
               hls_url: str = "") -> dict:
        body = {"streams": streams or [], "relays": relays or [], "final": final,
                "recordings": recordings or [], "hls_url": hls_url}
        response = self.http.post(ingest_url("report", node=self.node), json.dumps(body),
                                  content_type="application/json")
        assert response.status_code == 200, response.content
        return response.json()


def stat(stream_id: str, *, client_id: str = "1", app: str = "live", **overrides) -> dict:
    """One stream's line in a report, as the runner sends it for a healthy encoder."""
    return {"app": app, "name": stream_id, "client_id": client_id, "bytes_in": 1_250_000,
            "bitrate": 2_500_000, "frame_rate": 30.0, "width": 1280, "height": 720,
            "video_codec": "H264", "audio_codec": "AAC", "keyframe_interval": 2.0,
            "stalled": False, "playlist_ready": True, **overrides}


def go_live(ingest: Ingest, stream: dict, *, client_id: str = "1", app: str | None = None):
    """An encoder publishes with the stream's key and its first playlist is written."""
    app = app or stream["rtmp_url"].rsplit("/", 1)[1]
    response = ingest.publish(stream["stream_key"], client_id=client_id, app=app)
    assert response.status_code == 200, response.content
    return ingest.report([stat(stream["id"], client_id=client_id, app=app)])


def events(client, type: str | None = None) -> list[dict]:
    query = f"&type={type}" if type else ""
    response = client.get(f"/api/v1/events?limit=100{query}")
    assert response.status_code == 200, response.content
    return response.json()["data"]


def event_types(client, object_id: str) -> list[str]:
    """The types of an object's events, oldest first."""
    return [e["type"] for e in reversed(events(client)) if e["object"]["id"] == object_id]


def settle(node: Recordings) -> None:
    deadline = time.monotonic() + 30
    while node.running and time.monotonic() < deadline:
        node.collect()
        time.sleep(0.02)


def node_stores(ingest: Ingest, node: Recordings) -> list[dict]:
    """Two exchanges as the runner has them (a report, the answer's recordings stored or
    removed by the node, the next report saying so), after what an earlier answer
    started. Returns what the node said."""
    said = []
    for _ in range(2):
        settle(node)
        told = node.reports()
        said += [r for r in told if r not in said]
        node.reconcile(ingest.report(recordings=told)["recordings"])
    return said
