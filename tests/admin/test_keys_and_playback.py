from __future__ import annotations

import hashlib
import re

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from foundation.admin import change_url, changelist_url
from foundation.models import ApiKey, AuditEntry, Environment
from foundation.tenancy import api_key_find
from media_core.models import Asset, PlaybackID

from .conftest import delete_url

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"kino_sk_[A-Za-z0-9_\-]+")


# --- API keys -----------------------------------------------------------------------
def _create_key(client, environment, name="CMS backend",
                scopes=("assets:read", "uploads:write")):
    return client.post(changelist_url(ApiKey) + "add/", {
        "environment": environment.pk, "name": name, "scopes": list(scopes)})


def test_the_add_form_offers_every_scope_as_a_checkbox(admin_client):
    page = admin_client.get(changelist_url(ApiKey) + "add/")

    for scope in ("assets:read", "uploads:write", "webhooks:manage", "audit:read"):
        assertContains(page, f'type="checkbox" name="scopes" value="{scope}"')


def test_it_shows_the_new_key_secret_once(admin_client, admin_user, environment):
    response = _create_key(admin_client, environment)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assertContains(response, "This is the only time the secret is shown.")
    secret = SECRET.search(response.content.decode()).group(0)
    key = ApiKey.objects.get(name="CMS backend")
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert key.scopes == ["assets:read", "uploads:write"]
    assert api_key_find(secret) == key
    entry = AuditEntry.objects.get(object_id=key.id, action="api_key.created")
    assert (entry.actor_type, entry.actor_id) == ("user", str(admin_user.pk))

    for url in (change_url(key), changelist_url(ApiKey), changelist_url(AuditEntry)):
        page = admin_client.get(url)
        assert page.status_code == 200
        assertNotContains(page, secret)
        assertNotContains(page, key.secret_hash)
    assertContains(admin_client.get(change_url(key)), key.prefix)


def test_a_key_needs_at_least_one_scope(admin_client, environment):
    response = _create_key(admin_client, environment, scopes=())

    assertContains(response, "This field is required.")
    assert not ApiKey.objects.exists()


def test_revoke_revokes_and_says_so_for_keys_already_revoked(admin_client, admin_user,
                                                             environment, make_key, run_action):
    key, secret = make_key(environment)

    first = run_action(admin_client, ApiKey, "revoke", [key])
    again = run_action(admin_client, ApiKey, "revoke", [key])

    assertContains(first, "Revoked 1 API key.")
    assertContains(again, f"API key {key.id}: It was already revoked.")
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api_key_find(secret) is None
    assert AuditEntry.objects.filter(object_id=key.id, action="api_key.revoked",
                                     actor_id=str(admin_user.pk)).count() == 1


def test_a_pasted_secret_finds_its_key(admin_client, environment, make_key):
    key, secret = make_key(environment, name="leaky")
    make_key(environment, name="other")

    page = admin_client.get(changelist_url(ApiKey, q=secret))

    assert [k.id for k in page.context["cl"].result_list] == [key.id]


def test_keys_cannot_be_edited_or_deleted(admin_client, environment, make_key):
    key, _ = make_key(environment)

    assert admin_client.post(change_url(key), {"name": "x", "scopes": "[]"}).status_code == 403
    assert admin_client.get(delete_url(key)).status_code == 403
    key.refresh_from_db()
    assert key.name == "test key"


def test_support_staff_cannot_create_or_revoke_keys(support_client, environment, make_key,
                                                    run_action):
    key, _ = make_key(environment)

    assert _create_key(support_client, environment).status_code == 403
    run_action(support_client, ApiKey, "revoke", [key])

    key.refresh_from_db()
    assert key.revoked_at is None
    assert ApiKey.objects.count() == 1


# --- playback IDs -------------------------------------------------------------------
def test_a_playback_id_is_added_through_the_service(admin_client, admin_user, ready_asset):
    form = admin_client.get(changelist_url(PlaybackID) + f"add/?asset={ready_asset.id}")
    assertContains(form, f'value="{ready_asset.id}"')

    response = admin_client.post(changelist_url(PlaybackID) + "add/",
                                 {"asset": ready_asset.id, "policy": "signed"}, follow=True)

    assert response.status_code == 200
    signed = ready_asset.playback_ids.get(policy="signed")
    assert signed.environment_id == ready_asset.environment_id
    assertContains(response, signed.id)
    entry = AuditEntry.objects.get(object_id=ready_asset.id, action="playback_id.created")
    assert entry.actor_id == str(admin_user.pk)
    assert entry.changes["playback_ids"][1] == {"id": signed.id, "policy": "signed"}


def test_a_playback_id_is_deleted_through_the_service(admin_client, admin_user, ready_asset):
    playback_id = ready_asset.playback_ids.get()

    response = admin_client.post(delete_url(playback_id), {"post": "yes"})

    assert response.status_code == 302
    assert not PlaybackID.objects.filter(pk=playback_id.pk).exists()
    entry = AuditEntry.objects.get(object_id=ready_asset.id, action="playback_id.deleted")
    assert entry.actor_id == str(admin_user.pk)


def test_deleting_several_playback_ids_audits_each(admin_client, ready_asset, run_action):
    response = admin_client.post(changelist_url(PlaybackID) + "add/",
                                 {"asset": ready_asset.id, "policy": "public"})
    assert response.status_code == 302
    ids = list(ready_asset.playback_ids.all())

    run_action(admin_client, PlaybackID, "delete_selected", ids, post="yes")

    assert not ready_asset.playback_ids.exists()
    assert AuditEntry.objects.filter(object_id=ready_asset.id,
                                     action="playback_id.deleted").count() == 2


def test_a_deleted_asset_cannot_get_a_playback_id(admin_client, ready_asset, run_action):
    run_action(admin_client, Asset, "delete_with_media", [ready_asset], post="yes")

    response = admin_client.post(changelist_url(PlaybackID) + "add/",
                                 {"asset": ready_asset.id, "policy": "public"})

    assertContains(response, "Select a valid choice.")
    assert not PlaybackID.objects.filter(asset=ready_asset).exists()


def test_searching_playback_ids_by_asset_id(admin_client, ready_asset, errored_asset):
    page = admin_client.get(changelist_url(PlaybackID, q=ready_asset.id))

    assert [p.asset_id for p in page.context["cl"].result_list] == [ready_asset.id]


# --- environments -------------------------------------------------------------------
def test_an_environment_is_added_through_the_service(admin_client, admin_user):
    response = admin_client.post(changelist_url(Environment) + "add/", {"name": "staging"})

    assert response.status_code == 302
    environment = Environment.objects.get(name="staging")
    entry = AuditEntry.objects.get(object_id=environment.id, action="environment.created")
    assert entry.actor_id == str(admin_user.pk)
    assertContains(admin_client.get(change_url(environment)), "staging")


def test_an_environment_name_is_unique(admin_client, environment):
    response = admin_client.post(changelist_url(Environment) + "add/", {"name": environment.name})

    assertContains(response, "already exists")
    assert Environment.objects.count() == 1
