"""Text tracks on the asset page: an editor adds captions from a file and removes them."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from foundation.admin import change_url
from foundation.models import AuditEntry
from media_core.models import TextTrack
from playback.preview import preview_base

from .conftest import form_data

pytestmark = pytest.mark.django_db

SRT = b"1\n00:00:00,500 --> 00:00:01,500\nGood morning.\n"
BAD_SRT = b"1\n00:00:00,500 --> 00:00:01,500\nGood morning.\n\n2\n00:00:02 -> 00:00:03,000\nOops\n"


def add_page(asset) -> str:
    return reverse("admin:media_core_asset_text_track_add", args=[quote(asset.pk)])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_an_editor_adds_captions_from_an_srt_file_on_the_asset_page(member, ready_asset):
    editor = member("Editors")
    page = editor.get(change_url(ready_asset)).content.decode()
    assert "Add a text track" in page and add_page(ready_asset) in page
    assert editor.get(add_page(ready_asset)).status_code == 200

    response = editor.post(add_page(ready_asset), {
        "file": SimpleUploadedFile("morning.srt", SRT), "language_code": "en",
        "name": "English", "closed_captions": "on"}, follow=True)

    assert response.redirect_chain[-1][0] == change_url(ready_asset)
    assert any("“English” was added" in m for m in messages_of(response))
    track = TextTrack.objects.get()
    assert (track.asset_id, track.status, track.closed_captions) == (ready_asset.id, "ready", True)
    assert track.id in response.content.decode()  # listed on the asset page
    entry = AuditEntry.objects.get(action="text_track.created")
    assert (entry.actor_type, entry.actor_label) == ("user", "editors")
    # The staff preview plays it too, as viewers get it.
    master = editor.get(f"{preview_base(ready_asset.id)}/master.m3u8").content.decode()
    assert 'TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="en",NAME="English"' in master
    vtt = editor.get(f"{preview_base(ready_asset.id)}/text/{track.id}.vtt")
    assert b"00:00:00.500 --> 00:00:01.500\nGood morning." in b"".join(vtt.streaming_content)


def test_a_file_that_is_not_valid_is_refused_with_a_message_naming_the_line(member,
                                                                            ready_asset):
    editor = member("Editors")

    response = editor.post(add_page(ready_asset), {
        "file": SimpleUploadedFile("broken.srt", BAD_SRT), "language_code": "en"})

    assert response.status_code == 200  # the form again, to choose another file
    assert messages_of(response) == [
        "broken.srt: line 6: times are written like 00:00:01,000 --> 00:00:04,000 (hours, "
        "minutes, seconds, a comma and milliseconds), not '00:00:02 -> 00:00:03,000'."]
    assert not TextTrack.objects.exists()


def test_an_editor_deletes_a_track_from_the_asset_page(member, ready_asset):
    editor = member("Editors")
    editor.post(add_page(ready_asset), {"file": SimpleUploadedFile("en.srt", SRT),
                                        "language_code": "en", "name": "English"})
    track = TextTrack.objects.get()
    data = form_data(editor.get(change_url(ready_asset)), "asset_form")
    assert data["text_tracks-0-id"] == [track.id]

    data["text_tracks-0-DELETE"] = ["on"]
    response = editor.post(change_url(ready_asset), data, follow=True)

    assert any("“English” was removed" in m for m in messages_of(response))
    assert not TextTrack.objects.exists()
    assert AuditEntry.objects.filter(action="text_track.deleted", actor_type="user").exists()


def test_support_sees_the_tracks_but_neither_adds_nor_deletes(member, ready_asset):
    member("Editors").post(add_page(ready_asset), {"file": SimpleUploadedFile("en.srt", SRT),
                                                   "language_code": "en"})
    support = member("Support")

    page = support.get(change_url(ready_asset)).content.decode()

    assert TextTrack.objects.get().id in page
    assert "Add a text track" not in page and "text_tracks-0-DELETE" not in page
    assert support.get(add_page(ready_asset)).status_code == 403
