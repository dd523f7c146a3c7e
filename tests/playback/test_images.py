"""Images on demand: thumbnails, GIFs and storyboards made by real FFmpeg from renditions."""

from __future__ import annotations

import re
import subprocess
import time

import jwt
import pytest

from media_core import ffmpeg
from media_core.models import Rendition
from media_core.processing.encode import POSTER_NAME
from media_core.storage import list_tree, media_storage
from playback.images import choose_rendition, render
from tests.clips import make_clip, probe
from tests.factories import asset_from_file

# Storage-marked tests run on local files and again in a bucket: those that read
# renditions or cache images there.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=6, size="640x360")


@pytest.fixture
def asset(environment, sync_tasks, clip):
    """A ready 6-second 640x360 asset (renditions 640x360 and 426x240), public."""
    made = asset_from_file(environment, clip)
    assert made.status == "ready"
    return made


@pytest.fixture
def pid(asset):
    return asset.playback_ids.get().id


@pytest.fixture
def ffmpeg_runs(monkeypatch):
    """Counts FFmpeg runs, letting each one happen."""
    calls = []
    real = ffmpeg.run

    def counting(args, **kwargs):
        calls.append(args)
        return real(args, **kwargs)

    monkeypatch.setattr(ffmpeg, "run", counting)
    return calls


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def picture(response, tmp_path, name="image") -> dict:
    path = tmp_path / name
    path.write_bytes(body(response))
    return next(s for s in probe(str(path))["streams"] if s["codec_type"] == "video")


def size(response, tmp_path) -> tuple[int, int]:
    stream = picture(response, tmp_path)
    return stream["width"], stream["height"]


# ---- thumbnails ----------------------------------------------------------------------

@pytest.mark.storage
def test_a_thumbnail_has_the_requested_width_and_keeps_the_aspect_ratio(anonymous, pid, tmp_path):
    response = anonymous.get(f"/v/{pid}/thumbnail.jpg", {"width": 200})

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"].startswith("public")
    assert body(response)[:2] == b"\xff\xd8"
    width, height = size(response, tmp_path)
    assert width == 200 and abs(height - 112.5) <= 1


def test_only_a_height_keeps_the_aspect_ratio_too(anonymous, pid, tmp_path):
    response = anonymous.get(f"/v/{pid}/thumbnail.jpg", {"height": 90})

    assert size(response, tmp_path) == (160, 90)


def test_a_png_thumbnail_is_a_png(anonymous, pid, tmp_path):
    response = anonymous.get(f"/v/{pid}/thumbnail.png", {"width": 320, "time": 1})

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert body(response)[:8] == b"\x89PNG\r\n\x1a\n"
    assert size(response, tmp_path) == (320, 180)


@pytest.mark.parametrize("fit_mode", ["crop", "pad"])
def test_crop_and_pad_give_exactly_the_box(anonymous, pid, tmp_path, fit_mode):
    response = anonymous.get(f"/v/{pid}/thumbnail.jpg",
                             {"width": 200, "height": 200, "fit_mode": fit_mode})

    assert response.status_code == 200
    assert size(response, tmp_path) == (200, 200)


def test_preserve_fits_inside_the_box(anonymous, pid, tmp_path):
    response = anonymous.get(f"/v/{pid}/thumbnail.jpg", {"width": 200, "height": 200})

    assert size(response, tmp_path) == (200, 112) or size(response, tmp_path) == (200, 113)


def test_a_later_time_shows_a_later_frame(anonymous, pid):
    early = body(anonymous.get(f"/v/{pid}/thumbnail.jpg", {"time": 0, "width": 160}))
    late = body(anonymous.get(f"/v/{pid}/thumbnail.jpg", {"time": 5, "width": 160}))

    assert early[:2] == late[:2] == b"\xff\xd8"
    assert early != late


def test_the_editor_s_poster_time_is_the_default_thumbnail(anonymous, owner, asset, pid):
    default = body(anonymous.get(f"/v/{pid}/thumbnail.jpg"))
    at_five = body(anonymous.get(f"/v/{pid}/thumbnail.jpg", {"time": 5}))

    owner.patch(f"/api/v1/assets/{asset.id}", {"poster_time": 5}, format="json")
    chosen = body(anonymous.get(f"/v/{pid}/thumbnail.jpg"))

    assert chosen[:2] == b"\xff\xd8"
    assert chosen != default
    assert chosen == at_five


def test_the_very_end_of_the_video_still_gives_a_frame(anonymous, pid, tmp_path):
    response = anonymous.get(f"/v/{pid}/thumbnail.jpg", {"time": 6, "width": 160})

    assert response.status_code == 200
    assert size(response, tmp_path) == (160, 90)


def test_it_never_enlarges_past_the_largest_rendition(anonymous, pid, tmp_path):
    preserve = anonymous.get(f"/v/{pid}/thumbnail.jpg", {"width": 1280})
    crop = anonymous.get(f"/v/{pid}/thumbnail.jpg", {"width": 1280, "height": 1280, "fit_mode": "crop"})

    assert size(preserve, tmp_path) == (640, 360)
    assert size(crop, tmp_path) == (360, 360)


def test_without_parameters_the_thumbnail_is_the_poster(anonymous, asset, pid):
    response = anonymous.get(f"/v/{pid}/thumbnail.jpg")

    with media_storage().open(f"{asset.media_prefix}/{POSTER_NAME}", "rb") as fh:
        assert body(response) == fh.read()


THUMBNAIL_OUT_OF_RANGE = [
    ({"time": -1}, "time"),
    ({"time": 7}, "time"),
    ({"time": "soon"}, "time"),
    ({"width": 2000}, "width"),
    ({"width": 8}, "width"),
    ({"width": "wide"}, "width"),
    ({"height": 5000}, "height"),
    ({"height": 0}, "height"),
    ({"width": 100, "height": 100, "fit_mode": "stretch"}, "fit_mode"),
    ({"width": 100, "height": 100, "fit_mode": "smartcrop"}, "fit_mode"),
]


def test_out_of_range_thumbnail_parameters_are_400_naming_the_parameter(anonymous, pid, ffmpeg_runs):
    # One asset for every case: encoding one per case would triple the module's time.
    for params, name in THUMBNAIL_OUT_OF_RANGE:
        response = anonymous.get(f"/v/{pid}/thumbnail.jpg", params)

        assert response.status_code == 400, params
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "invalid_parameter"
        assert problem["detail"].startswith(name), (params, problem["detail"])
    assert ffmpeg_runs == []


# ---- GIFs ----------------------------------------------------------------------------

@pytest.mark.storage
def test_an_animated_gif_has_the_requested_width_and_span(anonymous, pid, tmp_path):
    response = anonymous.get(f"/v/{pid}/animated.gif",
                             {"start": 2.5, "end": 5, "width": 160, "fps": 10})

    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert body(response)[:6] == b"GIF89a"
    stream = picture(response, tmp_path)
    assert (stream["width"], stream["height"]) == (160, 90)
    assert float(stream["duration"]) == pytest.approx(2.5, abs=0.2)


def test_a_gif_without_parameters_is_the_first_five_seconds_320_wide(anonymous, pid, tmp_path):
    response = anonymous.get(f"/v/{pid}/animated.gif")

    stream = picture(response, tmp_path)
    assert (stream["width"], stream["height"]) == (320, 180)
    assert float(stream["duration"]) == pytest.approx(5, abs=0.2)


GIF_OUT_OF_RANGE = [
    ({"fps": 0}, "fps"),
    ({"fps": 31}, "fps"),
    ({"fps": 7.5}, "fps"),
    ({"start": 4, "end": 2}, "end"),
    ({"start": 1, "end": 1.2}, "end"),
    ({"end": 20}, "end"),
    ({"start": -1}, "start"),
    ({"width": 1000}, "width"),
    ({"width": 4}, "width"),
]


def test_out_of_range_gif_parameters_are_400_naming_the_parameter(anonymous, pid, ffmpeg_runs):
    for params, name in GIF_OUT_OF_RANGE:
        response = anonymous.get(f"/v/{pid}/animated.gif", params)

        assert response.status_code == 400, params
        assert response.json()["detail"].startswith(name), (params, response.json()["detail"])
    assert ffmpeg_runs == []


# ---- storyboards ---------------------------------------------------------------------

def cues(vtt: str) -> list[tuple[str, str, tuple[int, ...]]]:
    found = re.findall(r"(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)",
                       vtt)
    return [(start, end, url, tuple(int(v) for v in xywh)) for start, end, url, *xywh in found]


def test_a_storyboard_lists_tiles_that_lie_inside_its_sprite(anonymous, pid, tmp_path):
    response = anonymous.get(f"/v/{pid}/storyboard.vtt")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/vtt")
    text = response.content.decode()
    assert text.startswith("WEBVTT\n")
    listed = cues(text)
    assert len(listed) == 6
    assert listed[0][:2] == ("00:00:00.000", "00:00:01.000")
    assert listed[-1][1] == "00:00:06.000"
    assert {url for _, _, url, _ in listed} == {f"/v/{pid}/storyboard.jpg"}

    sprite = anonymous.get(f"/v/{pid}/storyboard.jpg")
    assert sprite["Content-Type"] == "image/jpeg"
    width, height = size(sprite, tmp_path)
    assert (width, height) == (6 * 160, 90)
    for _, _, _, (x, y, w, h) in listed:
        assert (w, h) == (160, 90)
        assert x + w <= width and y + h <= height


@pytest.mark.storage
def test_storyboard_tiles_show_different_moments(anonymous, pid, tmp_path):
    sprite = tmp_path / "sprite.jpg"
    sprite.write_bytes(body(anonymous.get(f"/v/{pid}/storyboard.jpg")))
    tiles = []
    for x in (0, 5 * 160):
        out = tmp_path / f"tile{x}.raw"
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(sprite), "-vf", f"crop=160:90:{x}:0",
                        "-f", "rawvideo", "-pix_fmt", "gray", str(out)], check=True, timeout=30)
        tiles.append(out.read_bytes())

    assert tiles[0] != tiles[1]


def test_a_long_video_gets_at_most_a_hundred_tiles_and_the_last_one_is_filled(
        anonymous, environment, sync_tasks, tmp_path):
    long = asset_from_file(environment, make_clip(tmp_path / "long.mp4", seconds=210, rate=5,
                                                  audio=False)).playback_ids.get().id

    listed = cues(anonymous.get(f"/v/{long}/storyboard.vtt").content.decode())
    sprite = tmp_path / "sprite.jpg"
    sprite.write_bytes(body(anonymous.get(f"/v/{long}/storyboard.jpg")))
    last = tmp_path / "last.raw"
    _, _, _, (x, y, w, h) = listed[-1]
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(sprite), "-vf", f"crop={w}:{h}:{x}:{y}",
                    "-f", "rawvideo", "-pix_fmt", "gray", str(last)], check=True, timeout=30)

    assert len(listed) == 70  # one every 3 s
    assert listed[1][:2] == ("00:00:03.000", "00:00:06.000")
    assert listed[-1][1] == "00:03:30.000"
    assert next(s for s in probe(str(sprite))["streams"])["width"] == 10 * 160
    assert next(s for s in probe(str(sprite))["streams"])["height"] == 7 * 90
    assert max(last.read_bytes()) > 64  # a picture, not the black of an empty tile


# ---- cache ---------------------------------------------------------------------------

def test_a_repeated_request_is_served_from_the_cache_without_ffmpeg(anonymous, asset, pid, ffmpeg_runs):
    first = anonymous.get(f"/v/{pid}/thumbnail.jpg", {"width": 200, "time": 2})
    runs_after_first = len(ffmpeg_runs)
    second = anonymous.get(f"/v/{pid}/thumbnail.jpg", {"time": "2.0", "width": "200"})

    assert runs_after_first >= 1
    assert len(ffmpeg_runs) == runs_after_first
    assert body(first) == body(second)
    assert second["Content-Type"] == "image/jpeg"
    cached = [n for n in list_tree(asset.media_prefix) if "/images/" in n]
    assert len(cached) == 1
    assert re.fullmatch(rf"{asset.media_prefix}/images/thumbnail-[0-9a-f]{{16}}\.jpg", cached[0])


@pytest.mark.storage
def test_gifs_and_sprites_are_cached_too(anonymous, asset, pid, ffmpeg_runs):
    for path in ("animated.gif", "storyboard.jpg"):
        anonymous.get(f"/v/{pid}/{path}")
    made = len(ffmpeg_runs)
    for path in ("animated.gif", "storyboard.jpg"):
        assert anonymous.get(f"/v/{pid}/{path}").status_code == 200

    assert made >= 2 and len(ffmpeg_runs) == made


def test_every_run_carries_the_whitelists_and_reads_a_local_temp_file(anonymous, pid, ffmpeg_runs,
                                                                      settings):
    anonymous.get(f"/v/{pid}/thumbnail.jpg", {"width": 100})
    anonymous.get(f"/v/{pid}/animated.gif", {"width": 100})
    anonymous.get(f"/v/{pid}/storyboard.jpg")

    assert len(ffmpeg_runs) >= 3
    for args in ffmpeg_runs:
        inputs = [i for i, arg in enumerate(args) if arg == "-i"]
        assert inputs
        for i in inputs:
            assert args[i - 4:i] == ["-protocol_whitelist", ffmpeg.PROTOCOL_WHITELIST,
                                     "-format_whitelist", ffmpeg.FORMAT_WHITELIST]
            assert args[i + 1].startswith(str(settings.PROCESSING_TMP_DIR))
    assert list(settings.PROCESSING_TMP_DIR.iterdir()) == []


def test_when_every_render_slot_is_taken_a_new_image_is_503_but_a_cached_one_is_served(
        anonymous, pid, monkeypatch):
    anonymous.get(f"/v/{pid}/thumbnail.jpg", {"width": 100})
    monkeypatch.setattr(render, "RENDER_WAIT_SECONDS", 0.1)
    taken = [render._slots.acquire(timeout=1) for _ in range(render.CONCURRENT_RENDERS)]
    try:
        busy = anonymous.get(f"/v/{pid}/thumbnail.jpg", {"width": 120})
        cached = anonymous.get(f"/v/{pid}/thumbnail.jpg", {"width": 100})
    finally:
        for _ in taken:
            render._slots.release()

    assert all(taken)
    assert (busy.status_code, busy.json()["code"]) == (503, "images_busy")
    assert busy["Retry-After"]
    assert cached.status_code == 200


@pytest.mark.storage
def test_missing_rendition_files_are_404(anonymous, asset, pid):
    storage = media_storage()
    for name in list_tree(asset.media_prefix):
        if name.endswith(".m4s"):
            storage.delete(name)

    response = anonymous.get(f"/v/{pid}/thumbnail.jpg", {"width": 100})

    assert response.status_code == 404


# ---- who may see them ----------------------------------------------------------------

@pytest.fixture
def key(owner):
    return owner.post("/api/v1/signing-keys").json()


def token(key, playback_id, *, aud):
    claims = {"sub": playback_id, "aud": aud, "exp": int(time.time()) + 600}
    return jwt.encode(claims, key["private_key"], algorithm="RS256", headers={"kid": key["id"]})


@pytest.fixture
def signed(environment, sync_tasks, tmp_path):
    made = asset_from_file(environment, make_clip(tmp_path / "s.mp4", seconds=3, size="320x180"),
                           playback_policy=["signed"])
    return made.playback_ids.get().id


@pytest.mark.parametrize("path, aud", [
    ("thumbnail.jpg?width=100", "t"),
    ("thumbnail.jpg", "t"),
    ("animated.gif?width=100&end=1", "g"),
    ("storyboard.vtt", "s"),
    ("storyboard.jpg", "s"),
])
def test_a_signed_playback_id_needs_a_token_for_that_kind_of_image(anonymous, signed, key, path, aud):
    url = f"/v/{signed}/{path}"
    joiner = "&" if "?" in url else "?"

    missing = anonymous.get(url)
    video = anonymous.get(f"{url}{joiner}token={token(key, signed, aud='v')}")
    right = anonymous.get(f"{url}{joiner}token={token(key, signed, aud=aud)}")

    assert (missing.status_code, missing.json()["code"]) == (403, "token_missing")
    assert (video.status_code, video.json()["code"]) == (403, "token_audience")
    assert right.status_code == 200
    assert right["Cache-Control"].startswith("private")


def test_a_signed_storyboard_hands_its_token_to_the_sprite(anonymous, signed, key):
    vtt = anonymous.get(f"/v/{signed}/storyboard.vtt", {"token": token(key, signed, aud="s")})
    url = cues(vtt.content.decode())[0][2]

    assert "token=" in url
    assert anonymous.get(url).status_code == 200


def test_images_of_an_asset_with_allowed_origins_are_refused_to_other_sites(
        anonymous, environment, sync_tasks, tmp_path):
    restricted = asset_from_file(environment, make_clip(tmp_path / "r.mp4"),
                                 allowed_origins=["https://news.example"]).playback_ids.get().id

    for path in ("thumbnail.jpg?width=100", "animated.gif", "storyboard.vtt", "storyboard.jpg"):
        refused = anonymous.get(f"/v/{restricted}/{path}", HTTP_ORIGIN="https://evil.example")
        allowed = anonymous.get(f"/v/{restricted}/{path}", HTTP_ORIGIN="https://news.example")
        assert (refused.status_code, refused.json()["code"]) == (403, "origin_not_allowed"), path
        assert allowed.status_code == 200, path


# ---- choosing the rendition ----------------------------------------------------------

def test_the_smallest_rendition_at_least_as_large_is_chosen_else_the_largest():
    ladder = [Rendition(name=n, kind="video", width=w, height=h)
              for n, w, h in (("240p", 426, 240), ("360p", 640, 360), ("720p", 1280, 720))]

    assert choose_rendition(ladder, 200, 113).name == "240p"
    assert choose_rendition(ladder, 427, 240).name == "360p"
    assert choose_rendition(ladder, 640, 360).name == "360p"
    assert choose_rendition(ladder, 1920, 1080).name == "720p"
