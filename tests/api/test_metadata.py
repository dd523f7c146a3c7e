"""What editors write about an asset, and finding assets by it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from media_core.models import Asset
from tests.api.test_publication import finish, new_asset

pytestmark = pytest.mark.django_db

WRITTEN = {
    "description": "The keynote, with the demo.",
    "tags": ["Keynote", "2030", "keynote ", "Keynote"],
    "metadata": {"campaign": "spring", "cms_id": "4711"},
    "chapters": [{"start": 0, "title": "Welcome"}, {"start": 95.5, "title": "Demo"}],
    "poster_time": 12.5,
}


def test_an_editor_s_metadata_reads_back_as_written(owner, environment, tmp_path):
    asset = new_asset(environment, tmp_path)

    answer = owner.patch(f"/api/v1/assets/{asset.id}", WRITTEN, format="json")

    assert answer.status_code == 200, answer.content
    shown = owner.get(f"/api/v1/assets/{asset.id}").json()
    assert shown["description"] == WRITTEN["description"]
    assert shown["tags"] == ["Keynote", "2030", "keynote"]  # trimmed, repeats dropped
    assert shown["metadata"] == WRITTEN["metadata"]
    assert shown["chapters"] == WRITTEN["chapters"]
    assert shown["poster_time"] == 12.5


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"chapters": [{"start": 60, "title": "B"}, {"start": 10, "title": "A"}]}, "chapters",
     "Chapter 2 starts at 10.0 s"),
    ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata", "At most 50 keys"),
    ({"tags": ['say "hi"']}, "tags", "cannot contain"),
    ({"poster_time": -1}, "poster_time", "greater than or equal to 0"),
])
def test_bad_metadata_is_a_400_that_names_what_is_wrong(owner, environment, tmp_path, body,
                                                         field, words):
    asset = new_asset(environment, tmp_path)

    refused = owner.patch(f"/api/v1/assets/{asset.id}", body, format="json")

    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert any(key.startswith(field) for key in errors), errors
    assert words in str(errors)


def test_metadata_given_with_an_upload_is_the_asset_s(owner, environment):
    settings = {"tags": ["launch"], "description": "From the upload",
                "chapters": [{"start": 0, "title": "Start"}]}
    created = owner.post("/api/v1/uploads", {"new_asset_settings": settings}, format="json")

    assert created.status_code == 201, created.content
    assert created.json()["new_asset_settings"]["tags"] == ["launch"]


def ids(owner, **params) -> list[str]:
    answer = owner.get("/api/v1/assets", params)
    assert answer.status_code == 200, answer.content
    return [a["id"] for a in answer.json()["data"]]


def test_the_list_filters_by_tag_words_state_publication_and_dates(owner, environment,
                                                                   tmp_path):
    keynote = finish(new_asset(environment, tmp_path, title="Spring keynote",
                               tags=["Keynote", "2030"]))
    demo = new_asset(environment, tmp_path, title="Demo", description="The product demo",
                     publish=False)
    Asset.objects.filter(pk=demo.pk).update(created_at=timezone.now() - timedelta(days=3))

    assert ids(owner, tag="keynote") == [keynote.id]
    assert ids(owner, tag="2030") == [keynote.id]
    assert ids(owner, tag="key") == []  # a whole tag, not part of one
    assert ids(owner, q="product") == [demo.id]
    assert ids(owner, q="KEYNOTE") == [keynote.id]
    assert ids(owner, status="ready") == [keynote.id]
    assert ids(owner, publication_status="draft") == [demo.id]
    assert ids(owner, created_before=(timezone.now() - timedelta(days=1)).isoformat()) == [demo.id]
    assert ids(owner, created_after=(timezone.now() - timedelta(days=1)).isoformat()) == [
        keynote.id]
    assert ids(owner, upload_id=keynote.upload.id) == [keynote.id]
    assert ids(owner, tag="keynote", status="preparing") == []


def test_a_bad_filter_is_a_400_naming_it(owner):
    for params, field in (({"status": "done"}, "status"),
                          ({"created_after": "yesterday"}, "created_after")):
        refused = owner.get("/api/v1/assets", params)
        assert refused.status_code == 400
        assert field in refused.json()["errors"]


def test_a_filtered_page_is_the_same_the_short_way(owner, environment, tmp_path, documents_on,
                                                   settings):
    finish(new_asset(environment, tmp_path, tags=["keynote"]))
    new_asset(environment, tmp_path)
    owner.get("/api/v1/assets")
    short = owner.get("/api/v1/assets", {"tag": "keynote"})
    settings.API_DOCUMENT_CACHE = "off"
    usual = owner.get("/api/v1/assets", {"tag": "keynote"})

    assert short.content == usual.content
    assert len(short.json()["data"]) == 1


def test_the_embed_player_lists_the_chapters(owner, anonymous, environment, tmp_path):
    asset = finish(new_asset(environment, tmp_path))
    owner.patch(f"/api/v1/assets/{asset.id}", {"chapters": [
        {"start": 0, "title": "Welcome"}, {"start": 3725, "title": "Q&A <live>"}]},
        format="json")

    page = anonymous.get(f"/embed/{asset.playback_ids.get().id}").content.decode()

    assert 'data-start="0.0"><time>0:00</time>Welcome' in page
    assert 'data-start="3725.0"><time>1:02:05</time>Q&amp;A &lt;live&gt;' in page
