"""The three roles, each signed in as a member of that role only: what its people do
every day works, and nothing else is offered or allowed."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group

from foundation import roles
from foundation.admin import change_url, changelist_url
from foundation.models import ApiKey
from live import services as live_services
from live.models import LiveStream
from media_core.models import Asset
from tests.api.test_publication import finish, new_asset
from tests.conftest import ADMIN
from webhooks.models import Event, WebhookDelivery

from .conftest import form_data

pytestmark = pytest.mark.django_db


def actions_offered(client, model) -> set[str]:
    page = client.get(changelist_url(model)).content.decode()
    return set(re.findall(r'<option value="([a-z_]+)"', page)) - {""}


@pytest.fixture
def draft(environment, tmp_path) -> Asset:
    return finish(new_asset(environment, tmp_path, publish=False, title="Launch film"))


@pytest.fixture
def stream(environment) -> LiveStream:
    created, _ = live_services.live_stream_create(
        environment_id=environment.id, actor=ADMIN, playback_policy=["public"],
        new_asset_settings=None, reconnect_window=30, latency_mode="low")
    return created


def test_the_roles_exist_after_migrating():
    roles.sync_roles()

    assert set(Group.objects.values_list("name", flat=True)) >= {
        "Editors", "Support", "Live operators"}
    assert Group.objects.get(name="Support").permissions.filter(
        codename="retry_asset").exists()


def test_an_editor_edits_and_publishes_but_runs_nothing_else(member, draft, stream):
    editor = member("Editors")

    assert actions_offered(editor, Asset) == {"publish_now", "unpublish_now"}
    page = editor.get(change_url(draft)).content.decode()
    assert "Add a playback ID" in page
    data = form_data(editor.get(change_url(draft)), "asset_form")
    data.update(title="Launch film, final", tags="launch")
    assert editor.post(change_url(draft), data).status_code == 302
    editor.post(changelist_url(Asset), {"action": "publish_now",
                                        "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert (draft.title, draft.tags, draft.publication_status) == (
        "Launch film, final", ["launch"], "published")
    assert editor.get(changelist_url(Event)).status_code == 200

    assert editor.get(changelist_url(ApiKey)).status_code == 403
    assert editor.get(changelist_url(LiveStream)).status_code == 403
    assert editor.get(changelist_url(WebhookDelivery)).status_code == 403


def test_support_reads_everything_retries_and_changes_nothing(member, draft, errored_asset,
                                                              stream):
    support = member("Support")

    for model in (Asset, Event, WebhookDelivery, LiveStream, ApiKey):
        assert support.get(changelist_url(model)).status_code == 200, model
    page = support.get(change_url(draft)).content.decode()
    assert "Add a playback ID" not in page
    assert 'name="title"' not in page  # shown, not editable
    assert actions_offered(support, Asset) == {"retry_processing"}
    retried = support.post(changelist_url(Asset), {"action": "retry_processing",
                                                   "_selected_action": [errored_asset.pk]},
                           follow=True)
    assert "Retrying 1 asset." in retried.content.decode()

    data = {"title": "Renamed by support"}
    assert support.post(change_url(draft), data).status_code == 403
    draft.refresh_from_db()
    assert draft.title == "Launch film"
    assert actions_offered(support, LiveStream) == set()


def test_a_live_operator_runs_streams_and_leaves_assets_alone(member, draft, stream):
    operator = member("Live operators")

    offered = actions_offered(operator, LiveStream)
    assert {"disable", "enable"} <= offered
    done = operator.post(changelist_url(LiveStream), {"action": "disable",
                                                      "_selected_action": [stream.pk]},
                         follow=True)
    assert done.status_code == 200
    stream.refresh_from_db()
    assert stream.status == "disabled"

    assert operator.get(change_url(draft)).status_code == 200  # recordings are assets
    assert actions_offered(operator, Asset) == set()
    assert operator.post(change_url(draft), {"title": "x"}).status_code == 403
    assert operator.get(changelist_url(ApiKey)).status_code == 403
