"""Editors publish, unpublish and schedule in the admin, through the publication service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from foundation.admin import change_url, changelist_url
from foundation.models import AuditEntry
from media_core.models import Asset
from tests.api.test_publication import finish, new_asset

from .conftest import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(environment, tmp_path) -> Asset:
    return finish(new_asset(environment, tmp_path, publish=False, title="Launch film"))


def test_the_library_shows_publication_and_filters_it(admin_client, draft):
    page = admin_client.get(changelist_url(Asset)).content.decode()
    assert "Launch film" in page and ">draft<" in page

    drafts = admin_client.get(changelist_url(Asset), {"publication_status__exact": "draft"})
    published = admin_client.get(changelist_url(Asset),
                                 {"publication_status__exact": "published"})
    assert "Launch film" in drafts.content.decode()
    assert "Launch film" not in published.content.decode()


def test_publish_and_unpublish_actions_go_through_the_service(admin_client, run_action, draft,
                                                               anonymous):
    playback_id = draft.playback_ids.get().id

    page = run_action(admin_client, Asset, "publish_now", [draft])

    assert "Published 1 asset." in page.content.decode()
    draft.refresh_from_db()
    assert draft.publication_status == "published"
    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 200

    page = run_action(admin_client, Asset, "unpublish_now", [draft])

    assert "Unpublished 1 asset." in page.content.decode()
    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 404


def test_publishing_an_asset_still_being_prepared_says_why_not(admin_client, run_action,
                                                                environment, tmp_path):
    preparing = new_asset(environment, tmp_path, publish=False)

    page = run_action(admin_client, Asset, "publish_now", [preparing]).content.decode()

    assert "Only a ready asset can be published now" in page
    preparing.refresh_from_db()
    assert preparing.publication_status == "draft"


def test_an_editor_schedules_publication_on_the_asset_page(admin_client, draft):
    at = timezone.localtime() + timedelta(hours=2)
    data = form_data(admin_client.get(change_url(draft)), "asset_form")
    data.update({"publish_at_0": at.strftime("%Y-%m-%d"), "publish_at_1": at.strftime("%H:%M:%S")})

    assert admin_client.post(change_url(draft), data).status_code == 302

    draft.refresh_from_db()
    assert draft.publication_status == "scheduled"
    assert abs((draft.publish_at - at).total_seconds()) < 1


def test_a_time_gone_by_is_refused_with_a_message(admin_client, draft):
    at = timezone.localtime() - timedelta(hours=1)
    data = form_data(admin_client.get(change_url(draft)), "asset_form")
    data.update({"publish_at_0": at.strftime("%Y-%m-%d"), "publish_at_1": at.strftime("%H:%M:%S")})

    page = admin_client.post(change_url(draft), data)

    assert page.status_code == 200
    assert "Choose a time to come" in page.content.decode()
    draft.refresh_from_db()
    assert draft.publication_status == "draft"


def test_an_editor_describes_an_asset_on_its_page(admin_client, draft):
    data = form_data(admin_client.get(change_url(draft)), "asset_form")
    data.update({"description": "The spring keynote.", "tags": "keynote, 2030, keynote",
                 "metadata": "campaign: spring\ncms_id: 4711",
                 "chapters": "0:00 Welcome\n1:35 Demo\n1:02:05 Questions", "poster_time": "12"})

    assert admin_client.post(change_url(draft), data).status_code == 302

    draft.refresh_from_db()
    assert draft.description == "The spring keynote."
    assert draft.tags == ["keynote", "2030"]
    assert draft.metadata == {"campaign": "spring", "cms_id": "4711"}
    assert draft.chapters == [{"start": 0.0, "title": "Welcome"}, {"start": 95.0, "title": "Demo"},
                              {"start": 3725.0, "title": "Questions"}]
    assert draft.poster_time == 12.0
    page = admin_client.get(change_url(draft)).content.decode()
    assert "1:35 Demo" in page  # shown again as written


def test_chapters_out_of_order_or_unreadable_are_refused_with_the_line(admin_client, draft):
    data = form_data(admin_client.get(change_url(draft)), "asset_form")

    unreadable = admin_client.post(change_url(draft), {**data, "chapters": "0:00 Start\nsoon Demo"})
    backwards = admin_client.post(change_url(draft), {**data, "chapters": "2:00 B\n1:00 A"})

    assert "Line 2: write the start" in unreadable.content.decode()
    assert "Chapter 2 starts at 60.0 s" in backwards.content.decode()
    draft.refresh_from_db()
    assert draft.chapters == []


def test_an_operator_puts_an_environment_under_review(admin_client, environment, tmp_path):
    data = form_data(admin_client.get(change_url(environment)), "environment_form")
    data["publishing"] = "review"

    assert admin_client.post(change_url(environment), data).status_code == 302

    environment.refresh_from_db()
    assert environment.publishing == "review"
    entry = AuditEntry.objects.filter(object_id=environment.id).latest("id")
    assert entry.changes == {"publishing": ["auto", "review"]}
    assert finish(new_asset(environment, tmp_path)).publication_status == "draft"


def test_the_asset_page_publishes_and_unpublishes_with_its_own_buttons(admin_client, draft,
                                                                       anonymous):
    playback_id = draft.playback_ids.get().id
    page = admin_client.get(change_url(draft)).content.decode()
    assert 'name="_publish"' in page and 'name="_unpublish"' not in page

    data = form_data(admin_client.get(change_url(draft)), "asset_form")
    published = admin_client.post(change_url(draft), {**data, "_publish": "Publish now"},
                                  follow=True)

    assert "Published 1 asset." in published.content.decode()
    assert published.redirect_chain[-1][0] == change_url(draft)
    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 200
    page = published.content.decode()
    assert 'name="_unpublish"' in page and 'name="_publish"' not in page

    data = form_data(published, "asset_form")
    unpublished = admin_client.post(change_url(draft), {**data, "_unpublish": "Unpublish now"},
                                    follow=True)
    assert "Unpublished 1 asset." in unpublished.content.decode()
    assert anonymous.get(f"/v/{playback_id}.m3u8").status_code == 404
    assert list(AuditEntry.objects.filter(object_id=draft.id, actor_type="user")
                .order_by("id").values_list("action", flat=True)) == [
        "asset.published", "asset.unpublished"]


def test_the_publish_buttons_are_only_for_those_who_may_publish(member, draft):
    support = member("Support")

    page = support.get(change_url(draft)).content.decode()

    assert 'name="_publish"' not in page
    assert support.post(change_url(draft), {"_publish": "Publish now"}).status_code == 403
    draft.refresh_from_db()
    assert draft.publication_status == "draft"
