"""Watching a live stream: /v/{playback_id}.m3u8 and the ingest's playlist behind it."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from live import services

from .support import Ingest, create_stream, go_live, stat

pytestmark = pytest.mark.django_db

MEDIA_PLAYLIST = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA-SEQUENCE:3
#EXT-X-TARGETDURATION:1
#EXTINF:1.000,
3.ts
#EXTINF:1.000,
4.ts
"""


@pytest.fixture(autouse=True)
def live_dir(settings, tmp_path):
    settings.LIVE_DIR = tmp_path / "live"
    return settings.LIVE_DIR


@pytest.fixture
def ingest():
    return Ingest()


def write_hls(live_dir, stream: dict, app: str = "live-low") -> None:
    folder = live_dir / "hls" / app / stream["id"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.m3u8").write_text(MEDIA_PLAYLIST)
    (folder / "3.ts").write_bytes(b"G" + bytes(187))
    (folder / "4.ts").write_bytes(b"G" + bytes(187))


def on_air(owner, ingest, live_dir, **body) -> dict:
    """A low-latency stream whose encoder publishes and whose first playlist is written."""
    stream = create_stream(owner, latency_mode="low", **body)
    write_hls(live_dir, stream)
    go_live(ingest, stream)
    assert owner.get(f"/api/v1/live-streams/{stream['id']}").json()["status"] == "active"
    return stream


def child_url(master: str) -> str:
    (url,) = [line for line in master.splitlines() if line and not line.startswith("#")]
    return url


def text(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_an_idle_stream_is_not_playable_yet(owner, anonymous):
    stream = create_stream(owner)

    response = anonymous.get(f"/v/{stream['playback_ids'][0]['id']}.m3u8")

    assert response.status_code == 412
    assert response.json()["code"] == "live_stream_not_active"


def test_a_connected_stream_without_a_playlist_yet_is_starting(owner, anonymous, ingest):
    stream = create_stream(owner, latency_mode="low")
    ingest.publish(stream["stream_key"], app="live-low")

    response = anonymous.get(f"/v/{stream['playback_ids'][0]['id']}.m3u8")

    assert response.status_code == 412
    assert (response.json()["code"], response["Retry-After"]) == ("live_stream_starting", "1")


def test_an_active_stream_plays_one_variant_through_a_signed_child_url(owner, anonymous, ingest,
                                                                       live_dir):
    stream = on_air(owner, ingest, live_dir)
    playback_id = stream["playback_ids"][0]["id"]

    response = anonymous.get(f"/v/{playback_id}.m3u8")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    master = response.content.decode()
    assert master.startswith("#EXTM3U")
    (variant,) = [line for line in master.splitlines() if line.startswith("#EXT-X-STREAM-INF:")]
    assert "BANDWIDTH=3125000" in variant and "RESOLUTION=1280x720" in variant
    url = child_url(master)
    assert url.startswith(f"/v/{playback_id}/s/")
    assert url.endswith(f"/live/live-low/{stream['id']}/index.m3u8")
    assert stream["stream_key"].split("?key=")[1] not in master


def test_the_child_playlist_and_its_segments_are_served(owner, anonymous, ingest, live_dir):
    stream = on_air(owner, ingest, live_dir)
    url = child_url(anonymous.get(f"/v/{stream['playback_ids'][0]['id']}.m3u8").content.decode())

    playlist = anonymous.get(url)

    assert playlist.status_code == 200
    assert playlist["Content-Type"] == "application/vnd.apple.mpegurl"
    assert text(playlist) == MEDIA_PLAYLIST
    assert "#EXT-X-ENDLIST" not in text(playlist)
    segment = anonymous.get(url.rsplit("/", 1)[0] + "/4.ts")
    assert segment.status_code == 200
    assert segment["Content-Type"] == "video/mp2t"
    assert text_bytes(segment) == (live_dir / "hls" / "live-low" / stream["id"] / "4.ts").read_bytes()
    assert anonymous.get(url.rsplit("/", 1)[0] + "/99.ts").status_code == 404


def text_bytes(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_live_master_and_child_playlist_read_the_stream_once(
        owner, anonymous, ingest, live_dir, django_assert_num_queries):
    stream = on_air(owner, ingest, live_dir)
    master_url = f"/v/{stream['playback_ids'][0]['id']}.m3u8"

    # The playback ID, its stream, the session on air.
    with django_assert_num_queries(3):
        master = anonymous.get(master_url)
    # The playback ID, its stream (whether its run is still on air: the session).
    with django_assert_num_queries(3):
        assert anonymous.get(child_url(master.content.decode())).status_code == 200


def test_a_tampered_or_expired_child_url_is_403(owner, anonymous, ingest, live_dir):
    stream = on_air(owner, ingest, live_dir)
    url = child_url(anonymous.get(f"/v/{stream['playback_ids'][0]['id']}.m3u8").content.decode())
    _, v, pid, s, expires, sig, *rest = url.split("/")
    other = create_stream(owner)["playback_ids"][0]["id"]

    tampered = [
        "/".join(["", v, pid, s, expires, sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB"), *rest]),
        "/".join(["", v, pid, s, str(int(expires) + 60), sig, *rest]),
        "/".join(["", v, pid, s, str(int(time.time()) - 5), sig, *rest]),
        "/".join(["", v, other, s, expires, sig, *rest]),
    ]
    for bad in tampered:
        response = anonymous.get(bad)
        assert response.status_code == 403, bad
        assert response.json()["code"] == "path_token_invalid"


def test_a_child_url_cannot_be_turned_to_another_stream_or_file(owner, anonymous, ingest,
                                                               live_dir):
    stream = on_air(owner, ingest, live_dir)
    other = create_stream(owner, latency_mode="low")
    write_hls(live_dir, other)
    url = child_url(anonymous.get(f"/v/{stream['playback_ids'][0]['id']}.m3u8").content.decode())
    base = url.rsplit("/", 1)[0]

    assert anonymous.get(base.replace(stream["id"], other["id"]) + "/index.m3u8").status_code == 403
    assert anonymous.get(base.replace("live-low", "live") + "/index.m3u8").status_code == 403
    assert anonymous.get(base + "/..%2f..%2fetc%2fpasswd").status_code == 404
    assert anonymous.get(base + "/index.m3u8.bak").status_code == 404


def test_when_the_run_is_over_the_playlist_ends_and_the_master_is_refused(owner, anonymous,
                                                                          ingest, live_dir):
    stream = on_air(owner, ingest, live_dir, reconnect_window=30)
    playback_id = stream["playback_ids"][0]["id"]
    url = child_url(anonymous.get(f"/v/{playback_id}.m3u8").content.decode())

    ingest.publish_done(stream["id"], app="live-low")
    # Within the reconnect window the stream is still on air.
    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 200
    assert "#EXT-X-ENDLIST" not in text(anonymous.get(url))

    services.live_streams_sweep(timezone.now() + timedelta(seconds=31))

    ended = text(anonymous.get(url))
    assert ended.startswith(MEDIA_PLAYLIST.rstrip("\n"))
    assert ended.rstrip("\n").endswith("#EXT-X-ENDLIST")
    assert ended.count("#EXT-X-ENDLIST") == 1
    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 412


def test_a_deleted_playback_id_stops_playing_at_once(owner, anonymous, ingest, live_dir):
    stream = on_air(owner, ingest, live_dir)
    playback_id = stream["playback_ids"][0]["id"]
    url = child_url(anonymous.get(f"/v/{playback_id}.m3u8").content.decode())

    owner.delete(f"/api/v1/live-streams/{stream['id']}/playback-ids/{playback_id}")

    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 404
    assert anonymous.get(url).status_code == 404


def test_a_deleted_stream_stops_playing_at_once(owner, anonymous, ingest, live_dir):
    stream = on_air(owner, ingest, live_dir)
    playback_id = stream["playback_ids"][0]["id"]
    url = child_url(anonymous.get(f"/v/{playback_id}.m3u8").content.decode())

    owner.delete(f"/api/v1/live-streams/{stream['id']}")

    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 404
    assert anonymous.get(url).status_code == 404


def test_a_disabled_stream_stops_playing(owner, anonymous, ingest, live_dir):
    stream = on_air(owner, ingest, live_dir)
    playback_id = stream["playback_ids"][0]["id"]

    owner.post(f"/api/v1/live-streams/{stream['id']}/disable")

    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 412


# --- signed playback -------------------------------------------------------------------------
def token(key: dict, playback_id: str, *, aud: str = "v", exp_in: int = 600) -> str:
    claims = {"sub": playback_id, "aud": aud, "exp": int(time.time()) + exp_in}
    return jwt.encode(claims, key["private_key"], algorithm="RS256", headers={"kid": key["id"]})


@pytest.fixture
def signing_key(owner) -> dict:
    response = owner.post("/api/v1/signing-keys")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_signed_live_playback_id_needs_a_valid_token(owner, anonymous, ingest, live_dir,
                                                       signing_key):
    stream = on_air(owner, ingest, live_dir, playback_policy=["signed"])
    playback_id = stream["playback_ids"][0]["id"]
    other = create_stream(owner, playback_policy=["signed"])["playback_ids"][0]["id"]

    assert anonymous.get(f"/v/{playback_id}.m3u8").json()["code"] == "token_missing"
    for bad in (token(signing_key, playback_id, exp_in=-300), token(signing_key, other),
                token(signing_key, playback_id, aud="t"),
                token(signing_key, playback_id)[:-4] + "AAAA"):
        assert anonymous.get(f"/v/{playback_id}.m3u8", {"token": bad}).status_code == 403

    response = anonymous.get(f"/v/{playback_id}.m3u8", {"token": token(signing_key, playback_id)})

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("private")
    child = anonymous.get(child_url(response.content.decode()))
    assert child.status_code == 200
    assert child["Cache-Control"].startswith("private")


def test_the_token_is_checked_before_the_streams_state_is_told(owner, anonymous):
    playback_id = create_stream(owner, playback_policy=["signed"])["playback_ids"][0]["id"]

    response = anonymous.get(f"/v/{playback_id}.m3u8")

    assert response.status_code == 403


def test_the_embed_page_plays_the_live_master(owner, anonymous):
    stream = create_stream(owner, latency_mode="low")
    playback_id = stream["playback_ids"][0]["id"]

    response = anonymous.get(f"/embed/{playback_id}")

    assert response.status_code == 200
    assert f"/v/{playback_id}.m3u8" in response.content.decode()
    assert stream["stream_key"].split("?key=")[1] not in response.content.decode()


# --- a node serving its own HLS (an ingest machine of its own) ---------------------------
@pytest.fixture
def node_server(tmp_path, settings):
    """The node's viewers' server as the platform meets it: its playlists under the
    ingest secret's path, over real HTTP."""
    import functools
    import http.server
    import threading

    root = tmp_path / "node"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.root = root
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def test_a_node_serving_its_own_hls_has_its_segments_pointed_at_it(owner, anonymous, ingest,
                                                                   node_server, settings):
    stream = create_stream(owner, latency_mode="low")
    folder = node_server.root / settings.LIVE_INGEST_SECRET / "hls" / "live-low" / stream["id"]
    folder.mkdir(parents=True)
    (folder / "index.m3u8").write_text(MEDIA_PLAYLIST)
    response = ingest.publish(stream["stream_key"], app="live-low")
    assert response.status_code == 200
    ingest.report([stat(stream["id"], app="live-low")], hls_url=node_server.url)
    master = anonymous.get(f"/v/{stream['playback_ids'][0]['id']}.m3u8").content.decode()
    child = child_url(master)
    assert child.startswith("/v/")  # the playlist itself still comes from the platform

    body = text_bytes(anonymous.get(child)).decode()

    folder_url = node_server.url + child.rsplit("/", 1)[0]  # the same path token
    segments = [line for line in body.splitlines() if line and not line.startswith("#")]
    assert segments == [f"{folder_url}/3.ts", f"{folder_url}/4.ts"]
    assert "#EXT-X-ENDLIST" not in body

    # The node goes away: viewers are told to try again, not that the stream is gone.
    node_server.shutdown()
    node_server.server_close()
    gone = anonymous.get(child)
    assert gone.status_code == 503 and gone["Retry-After"] == "2"
    assert gone.json()["code"] == "live_ingest_unreachable"


def test_a_node_address_that_is_no_http_url_is_not_taken(owner, ingest):
    from live.models import IngestNode

    for said in ("file:///etc/passwd", "http://node/a b", "gopher://node"):
        ingest.report([], hls_url=said)
        assert IngestNode.objects.get(name=ingest.node).hls_url == ""
    ingest.report([], hls_url="http://10.0.0.7:8081")
    assert IngestNode.objects.get(name=ingest.node).hls_url == "http://10.0.0.7:8081"
