"""Playing sound alone: a master playlist of one audio variant, its waveform as the
poster and the default thumbnail, and a clear answer for pictures it cannot have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from foundation.admin import change_url
from media_core.models import Asset
from media_core.storage import media_storage
from tests.clips import make_audio
from tests.factories import asset_from_file

pytestmark = pytest.mark.django_db(transaction=True)

VTT = b"WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nA tone.\n"
CHILD_BASE = re.compile(r"/v/pbk_[0-9a-z]+/s/\d+/[^/]+/")  # expiry and signature


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture(scope="module")
def tone(tmp_path_factory) -> Path:
    return make_audio(tmp_path_factory.mktemp("audio") / "tone.m4a", seconds=3)


@pytest.fixture
def audio_asset(environment, sync_tasks, tone) -> Asset:
    asset = asset_from_file(environment, tone, title="A tone", playback_policy=["public"])
    assert asset.status == Asset.Status.READY, asset.error_messages
    return asset


def _playback_id(asset: Asset) -> str:
    return asset.playback_ids.get().id


def _variants(master: str) -> list[tuple[str, str]]:
    lines = master.splitlines()
    return [(line, lines[i + 1]) for i, line in enumerate(lines)
            if line.startswith("#EXT-X-STREAM-INF:")]


def _plays(client, uri: str) -> None:
    """The media playlist a variant names, its init segment and first segment, as a
    player fetches them."""
    playlist = client.get(uri)
    assert playlist.status_code == 200
    listing = body(playlist).decode()
    base = uri.rsplit("/", 1)[0]
    init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', listing).group(1)
    segment = next(line for line in listing.splitlines() if line.endswith(".m4s"))
    for name in (init, segment):
        media = client.get(f"{base}/{name}")
        assert media.status_code == 200 and len(body(media)) > 100


def test_the_master_playlist_is_one_audio_variant_that_plays(anonymous, audio_asset):
    response = anonymous.get(f"/v/{_playback_id(audio_asset)}.m3u8")

    assert response.status_code == 200
    master = response.content.decode()
    [(attrs, uri)] = _variants(master)
    assert re.fullmatch(r'#EXT-X-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,'
                        r'CODECS="mp4a\.40\.2"', attrs), attrs
    assert "#EXT-X-MEDIA" not in master and "RESOLUTION" not in master
    assert uri.endswith("/audio/index.m3u8")
    _plays(anonymous, uri)


def test_the_kept_master_playlist_of_sound_alone_is_the_same(anonymous, audio_asset,
                                                             documents_on,
                                                             django_assert_num_queries):
    url = f"/v/{_playback_id(audio_asset)}.m3u8"
    first = anonymous.get(url).content.decode()
    anonymous.get(url)

    with django_assert_num_queries(0):
        again = anonymous.get(url).content.decode()

    assert CHILD_BASE.sub("", again) == CHILD_BASE.sub("", first)
    [(_, uri)] = _variants(again)
    _plays(anonymous, uri)


def test_text_tracks_are_offered_with_the_audio_variant(owner, anonymous, audio_asset,
                                                        documents_on):
    added = owner.post(f"/api/v1/assets/{audio_asset.id}/tracks",
                       {"file": SimpleUploadedFile("en.vtt", VTT), "language_code": "en",
                        "name": "English"}, format="multipart")
    assert added.status_code == 201, added.content

    for _ in range(3):  # read from the database, then from the kept template
        master = anonymous.get(f"/v/{_playback_id(audio_asset)}.m3u8").content.decode()
        [subtitles] = [line for line in master.splitlines()
                       if line.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES")]
        assert 'GROUP-ID="subs"' in subtitles and 'NAME="English"' in subtitles
        [(attrs, _)] = _variants(master)
        assert attrs.endswith('CODECS="mp4a.40.2",SUBTITLES="subs"')
    vtt_playlist = re.search(r'URI="([^"]+)"', subtitles).group(1)
    assert anonymous.get(vtt_playlist).status_code == 200


def test_the_thumbnail_is_the_waveform_poster_even_with_a_poster_time(owner, anonymous,
                                                                     audio_asset):
    with media_storage().open(f"{audio_asset.media_prefix}/poster.jpg", "rb") as fh:
        poster = fh.read()
    url = f"/v/{_playback_id(audio_asset)}/thumbnail.jpg"

    response = anonymous.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert body(response) == poster

    patched = owner.patch(f"/api/v1/assets/{audio_asset.id}", {"poster_time": 1.0}, format="json")
    assert patched.status_code == 200, patched.content
    again = anonymous.get(url)
    assert again.status_code == 200 and body(again) == poster


@pytest.mark.parametrize("path", [
    "thumbnail.jpg?time=1", "thumbnail.jpg?width=320", "thumbnail.png", "animated.gif",
    "storyboard.jpg", "storyboard.vtt",
])
def test_pictures_of_frames_are_a_clear_no_video_problem(anonymous, audio_asset, path):
    response = anonymous.get(f"/v/{_playback_id(audio_asset)}/{path}")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "no_video"
    assert problem["detail"].startswith("This asset has no video: it is audio only")


def test_the_embed_page_keeps_the_waveform_in_view(anonymous, audio_asset):
    playback_id = _playback_id(audio_asset)

    page = anonymous.get(f"/embed/{playback_id}").content.decode()

    assert f'poster="/v/{playback_id}/thumbnail.jpg"' in page
    assert 'class="audio-only"' in page  # the waveform also behind the player
    assert "This audio cannot be played right now." in page


def test_staff_preview_sound_alone_on_the_asset_page(admin_client, audio_asset):
    page = admin_client.get(change_url(audio_asset))
    assert page.status_code == 200
    text = page.content.decode()
    assert "audio · aac · 1 ch · 48 kHz · 3.0 s" in text
    assert f'poster="/admin/preview/{audio_asset.id}/poster.jpg"' in text

    master = admin_client.get(f"/admin/preview/{audio_asset.id}/master.m3u8").content.decode()
    [(attrs, uri)] = _variants(master)
    assert 'CODECS="mp4a.40.2"' in attrs
    _plays(admin_client, uri)
    poster = admin_client.get(f"/admin/preview/{audio_asset.id}/poster.jpg")
    assert poster.status_code == 200 and poster["Content-Type"] == "image/jpeg"
    # The page's thumbnail strip then says thumbnails are not available.
    assert admin_client.get(f"/admin/preview/{audio_asset.id}/storyboard.json").status_code == 404
    assert admin_client.get(f"/admin/preview/{audio_asset.id}/storyboard.jpg").status_code == 404
