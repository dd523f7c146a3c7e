"""The audit trail and the event outbox: readable by support, changeable by nobody."""

from __future__ import annotations

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from foundation.admin import change_url, changelist_url
from foundation.models import AuditEntry
from webhooks.models import Event

from .conftest import delete_url

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [AuditEntry, Event])
def test_records_cannot_be_added_changed_or_deleted_even_by_a_superuser(
        admin_client, errored_asset, model, run_action):
    record = model.objects.filter(object_id=errored_asset.id).first()
    before = model.objects.count()

    listing = admin_client.get(changelist_url(model))
    assert listing.status_code == 200
    assertNotContains(listing, changelist_url(model) + "add/")
    assertNotContains(listing, 'value="delete_selected"')
    assert admin_client.get(changelist_url(model) + "add/").status_code == 403
    assert admin_client.post(change_url(record), {"message": "edited"}).status_code == 403
    assert admin_client.get(delete_url(record)).status_code == 403
    assert admin_client.post(delete_url(record), {"post": "yes"}).status_code == 403
    run_action(admin_client, model, "delete_selected", [record], post="yes")

    assert model.objects.count() == before
    page = admin_client.get(change_url(record))
    assert page.status_code == 200
    assertNotContains(page, 'name="_save"')


def test_the_audit_trail_is_found_by_object_id_and_request_id(admin_client, errored_asset,
                                                             preparing_asset):
    by_object = admin_client.get(changelist_url(AuditEntry, q=errored_asset.id))
    entries = list(by_object.context["cl"].result_list)
    assert {e.action for e in entries} == {"asset.created", "asset.errored"}
    assert {e.object_id for e in entries} == {errored_asset.id}

    request_id = "req_support_ticket_1234"
    AuditEntry.objects.filter(pk=entries[0].pk).update(request_id=request_id)
    by_request = admin_client.get(changelist_url(AuditEntry, q=request_id))
    assert [e.pk for e in by_request.context["cl"].result_list] == [entries[0].pk]


def test_the_asset_page_links_to_a_filtered_audit_trail(admin_client, errored_asset,
                                                        preparing_asset):
    trail = admin_client.get(changelist_url(AuditEntry, object_id=errored_asset.id))

    assert {e.object_id for e in trail.context["cl"].result_list} == {errored_asset.id}


def test_audit_changes_are_pretty_printed(admin_client, refused_asset):
    entry = AuditEntry.objects.get(object_id=refused_asset.id, action="asset.errored")

    page = admin_client.get(change_url(entry))

    assertContains(page, '<pre>{\n  &quot;error_type&quot;: [\n    null,\n    &quot;non_video&quot;')
    assertContains(page, f"?id={refused_asset.id}")


def test_event_data_is_pretty_printed_and_searchable(admin_client, errored_asset):
    event = Event.objects.get(object_id=errored_asset.id, type="video.asset.errored")

    found = admin_client.get(changelist_url(Event, q=errored_asset.id))
    page = admin_client.get(change_url(event))

    assert event in found.context["cl"].result_list
    assertContains(page, f"&quot;id&quot;: &quot;{errored_asset.id}&quot;")
    assertContains(page, "<pre>{\n")


def test_support_staff_read_the_audit_trail(support_client, errored_asset):
    entry = AuditEntry.objects.filter(object_id=errored_asset.id).first()

    assert support_client.get(changelist_url(AuditEntry)).status_code == 200
    assert support_client.get(change_url(entry)).status_code == 200
