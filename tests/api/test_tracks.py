"""Text tracks through the API: a WebVTT or SRT file becomes captions that players offer."""

from __future__ import annotations

import re
import time

import jwt
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from foundation.audit import AuditEntry
from media_core.models import Asset, TextTrack
from media_core.storage import media_storage
from tests.clips import make_clip
from tests.factories import asset_from_file
from webhooks.models import Event

from .conftest import assert_problem

# Storage-marked tests run on local files and again on an S3 server: those that store
# a track, delete one or outlive a sweep.

VTT = b"""WEBVTT

00:00:00.500 --> 00:00:01.250
Hello from the captions.

00:00:01.250 --> 00:00:01.900 align:start
[door slams]
"""

SRT = b"""1
00:00:00,250 --> 00:00:01,234
Bonjour <i>tout le monde</i> & co

2
00:00:01,234 --> 00:00:01,987
Deuxi\xc3\xa8me ligne
"""


def add_track(client, asset_id: str, data: bytes = VTT, filename: str = "captions.vtt", **fields):
    fields.setdefault("language_code", "en")
    fields.setdefault("name", "English")
    return client.post(f"/api/v1/assets/{asset_id}/tracks",
                       {"file": SimpleUploadedFile(filename, data), **fields}, format="multipart")


def master_of(client, playback_id: str, **query) -> str:
    response = client.get(f"/v/{playback_id}.m3u8", query)
    assert response.status_code == 200, response.content
    return response.content.decode()


def subtitle_uris(master: str) -> dict[str, str]:
    """{NAME: URI} of the SUBTITLES renditions."""
    return {re.search(r'NAME="([^"]+)"', line).group(1): re.search(r'URI="([^"]+)"', line).group(1)
            for line in master.splitlines() if line.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES")}


def body_of(response) -> str:
    return b"".join(response.streaming_content if response.streaming
                    else [response.content]).decode()


def served_vtt(client, playlist_uri: str) -> str:
    """The WebVTT file a player reads: the one segment of the track's playlist."""
    playlist = client.get(playlist_uri)
    assert playlist.status_code == 200
    assert playlist["Content-Type"] == "application/vnd.apple.mpegurl"
    segment = next(line for line in body_of(playlist).splitlines() if line and line[0] != "#")
    vtt = client.get(f"{playlist_uri.rsplit('/', 1)[0]}/{segment}")
    assert vtt.status_code == 200
    assert vtt["Content-Type"] == "text/vtt; charset=utf-8"
    return body_of(vtt)


# --- adding ----------------------------------------------------------------------------

@pytest.mark.storage
def test_a_webvtt_file_becomes_a_ready_track_in_the_asset_and_its_playlist(
        owner, anonymous, ready_asset):
    response = add_track(owner, ready_asset["id"], closed_captions="true")

    assert response.status_code == 201, response.content
    track = response.json()
    assert track["id"].startswith("trk_")
    assert {k: track[k] for k in ("type", "status", "language_code", "name", "closed_captions")} == {
        "type": "text", "status": "ready", "language_code": "en", "name": "English",
        "closed_captions": True}
    asset = owner.get(f"/api/v1/assets/{ready_asset['id']}").json()
    assert [t["type"] for t in asset["tracks"]] == ["video", "audio", "text"]
    assert asset["tracks"][2] == track
    master = master_of(anonymous, ready_asset["playback_ids"][0]["id"])
    media = next(line for line in master.splitlines() if "TYPE=SUBTITLES" in line)
    assert media.startswith('#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="en",'
                            'NAME="English",')
    assert "public.accessibility.describes-music-and-sound" in media
    assert all('SUBTITLES="subs"' in line for line in master.splitlines()
               if line.startswith("#EXT-X-STREAM-INF"))
    vtt = served_vtt(anonymous, subtitle_uris(master)["English"])
    assert "00:00:00.500 --> 00:00:01.250\nHello from the captions." in vtt
    assert "00:00:01.250 --> 00:00:01.900 align:start\n[door slams]" in vtt


def test_srt_is_converted_to_webvtt_with_its_times_to_the_millisecond(owner, anonymous,
                                                                      ready_asset):
    response = add_track(owner, ready_asset["id"], SRT, "sous-titres.srt", language_code="fr",
                         name="Français")
    assert response.status_code == 201, response.content

    master = master_of(anonymous, ready_asset["playback_ids"][0]["id"])
    vtt = served_vtt(anonymous, subtitle_uris(master)["Français"])
    lines = vtt.splitlines()
    assert lines[0] == "WEBVTT"
    # Where cue time 0 falls on the renditions' timeline (90 kHz): the picture's start.
    assert re.fullmatch(r"X-TIMESTAMP-MAP=MPEGTS:\d+,LOCAL:00:00:00\.000", lines[1])
    assert ("00:00:00.250 --> 00:00:01.234\nBonjour <i>tout le monde</i> &amp; co\n\n"
            "00:00:01.234 --> 00:00:01.987\nDeuxième ligne") in vtt
    assert TextTrack.objects.get(pk=response.json()["id"]).source_format == "srt"


def test_the_track_playlist_is_one_segment_as_long_as_the_video(owner, anonymous, ready_asset):
    add_track(owner, ready_asset["id"])
    master = master_of(anonymous, ready_asset["playback_ids"][0]["id"])

    playlist = body_of(anonymous.get(subtitle_uris(master)["English"]))

    assert f"#EXTINF:{ready_asset['duration']:.3f}," in playlist
    assert playlist.rstrip().endswith("#EXT-X-ENDLIST")
    assert [line for line in playlist.splitlines() if line and line[0] != "#"] == [
        f"{TextTrack.objects.get().id}.vtt"]


def test_a_track_without_a_name_is_named_after_its_language(owner, ready_asset):
    response = add_track(owner, ready_asset["id"], language_code="pt-BR", name="")

    assert response.json()["name"] == "Brazilian Portuguese"


@pytest.mark.parametrize(("data", "filename", "line", "says"), [
    (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nOne\n\n00:00:03,000 --> 00:00:04,000\nTwo\n",
     "bad.vtt", 6, "cue timings are written like 00:00:01.000"),
    (b"WEBVTT\n\n00:00:03.000 --> 00:00:02.000\nBackwards\n", "bad.vtt", 3, "ends"),
    (b"1\n00:00:01,000 --> 00:00:02,000\nOne\n\n2\n00:00:0x,000 --> 00:00:04,000\nTwo\n",
     "bad.srt", 6, "times are written like 00:00:01,000"),
    (b"Just some notes about the film.\n", "notes.txt", 1, "expected a subtitle"),
    (b"1\n00:00:01,000 --> 00:00:02,000\nCaf\xe9\n", "latin1.srt", 3, "not UTF-8"),
    (b"", "empty.vtt", 1, "empty"),
])
def test_a_file_that_is_not_webvtt_or_srt_is_refused_naming_the_line(
        owner, ready_asset, data, filename, line, says):
    response = add_track(owner, ready_asset["id"], data, filename)

    problem = assert_problem(response, 422, "invalid_text_track")
    assert problem["detail"].startswith(f"line {line}: ")
    assert says in problem["detail"]
    assert problem["errors"]["file"] == [problem["detail"]]
    assert not TextTrack.objects.exists()
    assert not media_storage().exists(f"assets/{ready_asset['id']}/text")


def test_a_file_over_2_mib_is_refused_before_it_is_read(owner, ready_asset):
    response = add_track(owner, ready_asset["id"], b"WEBVTT\n\n" + b"x" * (3 * 1024 * 1024))

    assert_problem(response, 413, "file_too_large")


def test_bad_fields_are_a_400_naming_them(owner, ready_asset):
    response = add_track(owner, ready_asset["id"], language_code="English!", name='Say "hi"')

    problem = assert_problem(response, 400, "invalid_request")
    assert set(problem["errors"]) == {"language_code", "name"}


def test_a_json_body_is_a_415(owner, ready_asset):
    response = owner.post(f"/api/v1/assets/{ready_asset['id']}/tracks",
                          {"language_code": "en"}, format="json")

    assert_problem(response, 415, "unsupported_media_type")


def test_a_live_recording_takes_tracks_once_it_is_ready(owner, ready_asset):
    # A recording is an asset like any other, found by its stream's id.
    Asset.objects.filter(pk=ready_asset["id"]).update(live_stream_id="lvs_" + "0" * 26)

    track = add_track(owner, ready_asset["id"]).json()

    shown = owner.get("/api/v1/assets", {"live_stream_id": "lvs_" + "0" * 26}).json()["data"]
    assert [t.get("id") for t in shown[0]["tracks"]][-1] == track["id"]


@pytest.mark.django_db
def test_an_asset_that_is_not_ready_takes_no_track_yet(owner, environment, tmp_path):
    preparing = asset_from_file(environment, make_clip(tmp_path / "clip.mp4"))  # not processed
    assert preparing.status == "preparing"

    assert_problem(add_track(owner, preparing.id), 409, "asset_not_ready")


def test_an_asset_of_another_environment_or_none_is_a_404(owner, outsider, ready_asset):
    assert_problem(add_track(outsider, ready_asset["id"]), 404, "not_found")
    assert_problem(add_track(owner, "ast_" + "0" * 26), 404, "not_found")
    track = add_track(owner, ready_asset["id"]).json()

    path = f"/api/v1/assets/{ready_asset['id']}/tracks/{track['id']}"
    assert_problem(outsider.get(path), 404, "not_found")
    assert_problem(outsider.delete(path), 404, "not_found")
    assert owner.get(path).json() == track


def test_a_key_without_assets_write_cannot_add_one(client_with_scopes, ready_asset):
    reader = client_with_scopes("assets:read")

    assert_problem(add_track(reader, ready_asset["id"]), 403, "forbidden")


def test_a_retried_post_with_the_same_idempotency_key_adds_one_track(owner, ready_asset):
    from django.test.client import MULTIPART_CONTENT, encode_multipart

    body = encode_multipart("XyZ", {"file": SimpleUploadedFile("c.vtt", VTT),
                                    "language_code": "en", "name": "English"})
    first, again = (owner.generic("POST", f"/api/v1/assets/{ready_asset['id']}/tracks", body,
                                  content_type=MULTIPART_CONTENT.replace("BoUnDaRyStRiNg", "XyZ"),
                                  HTTP_IDEMPOTENCY_KEY="tracks-1") for _ in range(2))

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert TextTrack.objects.count() == 1


# --- removing, and what is written down ------------------------------------------------------

@pytest.mark.storage
def test_a_deleted_track_leaves_the_asset_and_the_playlist(owner, anonymous, ready_asset):
    track = add_track(owner, ready_asset["id"]).json()
    playback_id = ready_asset["playback_ids"][0]["id"]
    uri = subtitle_uris(master_of(anonymous, playback_id))["English"]

    response = owner.delete(f"/api/v1/assets/{ready_asset['id']}/tracks/{track['id']}")

    assert response.status_code == 204
    assert "TYPE=SUBTITLES" not in master_of(anonymous, playback_id)
    assert [t["type"] for t in owner.get(f"/api/v1/assets/{ready_asset['id']}").json()["tracks"]
            ] == ["video", "audio"]
    assert anonymous.get(uri).status_code == 404
    assert not media_storage().exists(f"assets/{ready_asset['id']}/text/{track['id']}.vtt")
    again = owner.delete(f"/api/v1/assets/{ready_asset['id']}/tracks/{track['id']}")
    assert_problem(again, 404, "not_found")


def test_adding_and_removing_leave_audit_entries_and_events(owner, ready_asset):
    track = add_track(owner, ready_asset["id"]).json()
    owner.delete(f"/api/v1/assets/{ready_asset['id']}/tracks/{track['id']}")

    entries = owner.get("/api/v1/audit-log", {"object_id": ready_asset["id"]}).json()["data"]
    assert [e["action"] for e in entries][:2] == ["text_track.deleted", "text_track.created"]
    assert entries[1]["changes"]["text_tracks"][1]["id"] == track["id"]
    assert AuditEntry.objects.filter(action="text_track.created", actor_type="api_key").exists()
    events = list(Event.objects.filter(object_id=track["id"]).order_by("sequence"))
    assert [e.type for e in events] == ["video.asset.track.ready", "video.asset.track.deleted"]
    assert events[0].object_type == "track" and events[0].data["asset_id"] == ready_asset["id"]
    updated = Event.objects.filter(object_id=ready_asset["id"], type="video.asset.updated")
    assert updated.count() == 2


def test_the_cached_asset_document_shows_a_new_track_and_forgets_a_deleted_one(
        owner, anonymous, ready_asset, documents_on):
    path = f"/api/v1/assets/{ready_asset['id']}"
    playback_id = ready_asset["playback_ids"][0]["id"]
    assert len(owner.get(path).json()["tracks"]) == 2  # the document is built, and kept
    assert "SUBTITLES" not in master_of(anonymous, playback_id)  # so is the master's template

    track = add_track(owner, ready_asset["id"]).json()
    assert owner.get(path).json()["tracks"][-1]["id"] == track["id"]
    assert 'NAME="English"' in master_of(anonymous, playback_id)
    assert 'NAME="English"' in master_of(anonymous, playback_id)  # from the template

    owner.delete(f"{path}/tracks/{track['id']}")
    assert len(owner.get(path).json()["tracks"]) == 2
    assert "SUBTITLES" not in master_of(anonymous, playback_id)


# --- playback ----------------------------------------------------------------------------

def test_a_signed_playback_id_s_subtitle_urls_need_their_path_token(owner, anonymous,
                                                                     ready_asset):
    add_track(owner, ready_asset["id"])
    signed = owner.post(f"/api/v1/assets/{ready_asset['id']}/playback-ids",
                        {"policy": "signed"}, format="json").json()["id"]
    key = owner.post("/api/v1/signing-keys").json()
    token = jwt.encode({"sub": signed, "aud": "v", "exp": int(time.time()) + 300},
                       key["private_key"], algorithm="RS256", headers={"kid": key["id"]})
    assert anonymous.get(f"/v/{signed}.m3u8").status_code == 403

    uri = subtitle_uris(master_of(anonymous, signed, token=token))["English"]
    assert "Hello from the captions." in served_vtt(anonymous, uri)

    match = re.match(r"^/v/(pbk_\w+)/s/(\d+)/([\w-]+)/(.+)$", uri)
    pbk, expires, signature, rest = match.groups()
    tampered = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert anonymous.get(f"/v/{pbk}/s/{expires}/{tampered}/{rest}").status_code == 403
    other = ready_asset["playback_ids"][0]["id"]  # the token is the signed one's alone
    assert anonymous.get(f"/v/{other}/s/{expires}/{signature}/{rest}").status_code == 403
    assert anonymous.get(f"/v/{pbk}/s/{expires}/{signature}/"
                         f"{rest.replace('.m3u8', '.srt')}").status_code == 404


def test_an_unpublished_asset_s_subtitles_answer_404(owner, anonymous, ready_asset):
    add_track(owner, ready_asset["id"])
    master = master_of(anonymous, ready_asset["playback_ids"][0]["id"])
    uri = subtitle_uris(master)["English"]
    vtt_uri = uri.replace(".m3u8", ".vtt")
    assert anonymous.get(vtt_uri).status_code == 200

    owner.post(f"/api/v1/assets/{ready_asset['id']}/unpublish", {}, format="json")

    assert anonymous.get(uri).status_code == 404
    assert anonymous.get(vtt_uri).status_code == 404


@pytest.mark.storage
def test_a_track_outlives_reprocessing_s_sweep_of_old_rendition_folders(owner, anonymous,
                                                                       ready_asset):
    from media_core.tasks import sweep_asset_media

    track = add_track(owner, ready_asset["id"]).json()

    sweep_asset_media(ready_asset["id"])

    assert media_storage().exists(f"assets/{ready_asset['id']}/text/{track['id']}.vtt")
