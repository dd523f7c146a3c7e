"""Live thumbnails: a recent frame of a stream on air, for viewers (thumbnail.jpg of its
playback ID) and for staff (the live streams' list and the dashboard)."""

from __future__ import annotations

import subprocess
import time

import jwt
import pytest
from django.contrib.admin.utils import quote

from live import thumbnails
from media_core import ffmpeg

from .support import Ingest, create_stream, go_live

pytestmark = pytest.mark.django_db

# Colours as RGB; a decoded JPEG's middle is within a few levels of them.
RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 128, 0)  # as FFmpeg names them
NAMES = {RED: "red", BLUE: "blue", GREEN: "green"}


@pytest.fixture(autouse=True)
def live_dir(settings, tmp_path):
    settings.LIVE_DIR = tmp_path / "live"
    return settings.LIVE_DIR


@pytest.fixture
def ingest():
    return Ingest()


def write_segments(folder, colours: list[tuple[int, int, int]], first: int = 3) -> None:
    """An nginx-rtmp style playlist of one-second MPEG-TS segments, one colour each."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-MEDIA-SEQUENCE:{first}",
             "#EXT-X-TARGETDURATION:1"]
    for number, colour in enumerate(colours, start=first):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"color=c={NAMES[colour]}:size=1280x720:rate=30:duration=1",
                        "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-f", "mpegts",
                        str(folder / f"{number}.ts")], check=True, timeout=60)
        lines += ["#EXTINF:1.000,", f"{number}.ts"]
    (folder / "index.m3u8").write_text("\n".join(lines) + "\n")


def middle(jpeg: bytes) -> tuple[int, int, int]:
    rgb = subprocess.run(["ffmpeg", "-v", "error", "-f", "image2pipe", "-i", "-", "-vf",
                          "crop=2:2,scale=1:1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         input=jpeg, capture_output=True, check=True, timeout=30).stdout
    return tuple(rgb[:3])


def close_to(found, colour) -> bool:
    return all(abs(a - b) <= 40 for a, b in zip(found, colour, strict=True))


def width_of(jpeg: bytes) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-f", "image2pipe", "-i", "-",
                          "-show_entries", "stream=width", "-of", "csv=p=0"],
                         input=jpeg, capture_output=True, check=True, timeout=30).stdout
    return int(out.strip())


def on_air(owner, ingest, live_dir, colours, **body) -> tuple[dict, object]:
    stream = create_stream(owner, latency_mode="low", **body)
    folder = live_dir / "hls" / "live-low" / stream["id"]
    write_segments(folder, colours)
    go_live(ingest, stream)
    return stream, folder


def test_a_live_thumbnail_is_the_newest_segment_and_follows_the_stream(
        owner, anonymous, ingest, live_dir, monkeypatch):
    stream, folder = on_air(owner, ingest, live_dir, [RED, BLUE])
    url = f"/v/{stream['playback_ids'][0]['id']}/thumbnail.jpg"

    first = anonymous.get(url)

    assert first.status_code == 200, first.content
    assert first["Content-Type"] == "image/jpeg"
    assert first["Cache-Control"] == "public, max-age=2"
    assert close_to(middle(first.content), BLUE)  # the newest, not the first
    assert width_of(first.content) == thumbnails.MAX_WIDTH  # 1280 wide at the source
    # The stream moves on; once the picture is stale a new one is made from it.
    write_segments(folder, [BLUE, GREEN], first=4)
    monkeypatch.setattr(thumbnails, "FRESH_SECONDS", 0.0)
    later = anonymous.get(url)
    assert later.status_code == 200
    assert close_to(middle(later.content), GREEN)


def test_while_fresh_the_picture_is_not_made_again(owner, anonymous, ingest, live_dir,
                                                   monkeypatch):
    stream, folder = on_air(owner, ingest, live_dir, [RED])
    url = f"/v/{stream['playback_ids'][0]['id']}/thumbnail.jpg"
    runs = []
    real = ffmpeg.run
    monkeypatch.setattr(ffmpeg, "run", lambda args, **kw: runs.append(args) or real(args, **kw))

    answers = [anonymous.get(url) for _ in range(5)]

    assert [a.status_code for a in answers] == [200] * 5
    assert len(runs) == 1
    assert len({a.content for a in answers}) == 1


def test_a_stream_not_on_air_has_no_thumbnail(owner, anonymous):
    stream = create_stream(owner, latency_mode="low")

    response = anonymous.get(f"/v/{stream['playback_ids'][0]['id']}/thumbnail.jpg")

    assert response.status_code == 412
    assert response.json()["code"] == "live_stream_not_active"


def test_a_segment_that_cannot_be_decoded_is_a_503_with_a_retry(owner, anonymous, ingest,
                                                                live_dir):
    stream = create_stream(owner, latency_mode="low")
    folder = live_dir / "hls" / "live-low" / stream["id"]
    folder.mkdir(parents=True)
    (folder / "index.m3u8").write_text("#EXTM3U\n#EXTINF:1.000,\n3.ts\n")
    (folder / "3.ts").write_bytes(b"G" + bytes(187))
    go_live(ingest, stream)

    response = anonymous.get(f"/v/{stream['playback_ids'][0]['id']}/thumbnail.jpg")

    assert response.status_code == 503
    assert (response.json()["code"], response["Retry-After"]) == ("live_thumbnail_unavailable", "2")


def test_a_signed_live_playback_id_needs_a_thumbnail_token(owner, anonymous, ingest, live_dir):
    stream, _ = on_air(owner, ingest, live_dir, [RED], playback_policy=["signed"])
    playback_id = stream["playback_ids"][0]["id"]
    key = owner.post("/api/v1/signing-keys").json()

    def token(aud):
        claims = {"sub": playback_id, "aud": aud, "exp": int(time.time()) + 600}
        return jwt.encode(claims, key["private_key"], algorithm="RS256", headers={"kid": key["id"]})

    url = f"/v/{playback_id}/thumbnail.jpg"
    assert anonymous.get(url).json()["code"] == "token_missing"
    assert anonymous.get(f"{url}?token={token('v')}").status_code == 403
    allowed = anonymous.get(f"{url}?token={token('t')}")
    assert allowed.status_code == 200
    assert allowed["Cache-Control"] == "private, max-age=2"


def test_staff_see_a_picture_of_each_stream_on_air_in_the_list(owner, admin_client, ingest,
                                                               live_dir):
    on, _ = on_air(owner, ingest, live_dir, [RED], playback_policy=["signed"], name="Main stage")
    off = create_stream(owner, name="Later")

    page = admin_client.get("/admin/live/livestream/").content.decode()
    picture = admin_client.get(f"/admin/live/livestream/{quote(on['id'])}/picture.jpg")

    rows = {name: next(row for row in page.split("<tr") if f"<strong>{name}</strong>" in row)
            for name in (on["name"], "Later")}
    assert f'src="/admin/live/livestream/{quote(on["id"])}/picture.jpg"' in rows[on["name"]]
    assert "off air" in rows["Later"] and "picture.jpg" not in rows["Later"]
    assert picture.status_code == 200 and close_to(middle(picture.content), RED)
    assert admin_client.get(f"/admin/live/livestream/{off['id']}/picture.jpg").status_code == 404
