from __future__ import annotations

import re

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains

from foundation.admin import change_url
from foundation.models import AuditEntry
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def _find(client, raw: str):
    return client.get(reverse("admin-find"), {"id": raw})


def test_it_takes_any_public_id_to_its_admin_page(admin_client, ready_asset, make_key):
    key, _ = make_key(ready_asset.environment)
    objects = [
        ready_asset, ready_asset.upload, ready_asset.playback_ids.get(), ready_asset.jobs.get(),
        Event.objects.filter(object_id=ready_asset.id).first(),
        key, AuditEntry.objects.filter(object_id=ready_asset.id).first(),
        ready_asset.environment,
    ]
    assert sorted(obj.pk[:3] for obj in objects) == sorted(
        ["ast", "upl", "pbk", "job", "evt", "key", "aud", "env"])

    for obj in objects:
        response = _find(admin_client, obj.pk)
        assert (response.status_code, response["Location"]) == (302, change_url(obj)), obj.pk
        assert admin_client.get(response["Location"]).status_code == 200, obj.pk


def test_it_finds_the_id_in_a_pasted_playback_url(admin_client, ready_asset):
    playback_id = ready_asset.playback_ids.get()

    response = _find(admin_client, f"  https://video.example.com/v/{playback_id.id}.m3u8 ")

    assert response["Location"] == change_url(playback_id)


def test_an_unknown_id_says_so(admin_client, environment):
    response = _find(admin_client, "ast_01m8563rqfp7v9k6e0zrczv6yh")

    assertContains(response, "No object with that ID")


def test_something_that_is_not_an_id_says_so(admin_client):
    assertContains(_find(admin_client, "hello"), "That is not a Kino ID.")


def test_an_id_the_admin_has_no_page_for_says_so(admin_client):
    assertContains(_find(admin_client, "ren_01m8563rqfp7v9k6e0zrczv6yh"),
                   "The admin has no page for renditions.")


def test_the_admin_index_offers_find_by_id(admin_client):
    page = admin_client.get(reverse("admin:index"))

    assertContains(page, f'action="{reverse("admin-find")}"')
    assertContains(page, "Find by ID")


def test_find_by_id_needs_a_staff_login(client, outsider_client, ready_asset):
    from django.test import Client

    anonymous = Client().get(reverse("admin-find"), {"id": ready_asset.id})
    outsider = outsider_client.get(reverse("admin-find"), {"id": ready_asset.id})

    for response in (anonymous, outsider):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_a_request_id_lands_on_what_that_request_did(admin_client, owner, environment):
    created = owner.post("/api/v1/uploads", {}, format="json")
    request_id = created["X-Request-Id"]

    page = _find(admin_client, f" {request_id} ")

    assert page.status_code == 200
    html = page.content.decode()
    links = dict(re.findall(r'<h3><a href="([^"]+)">(\d+ [a-z ]+)</a>', html))
    assert sorted(links.values()) == ["1 audit entry", "1 event"]
    for url in links:
        listed = admin_client.get(url.replace("&amp;", "&"))
        assert listed.status_code == 200
        assert listed.context["cl"].result_count == 1, url
    # Each record is there too, one click from its own page.
    upload_id = created.json()["id"]
    records = re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', html)
    assert sorted(text for _, text in records) == [
        f"upload.created {upload_id}", f"video.upload.created {upload_id}"]
    for url, _ in records:
        assert admin_client.get(url).status_code == 200


def test_a_request_id_that_did_nothing_says_so(admin_client):
    assertContains(_find(admin_client, "req_0123456789abcdef01234567"),
                   "Nothing on record was done by request")
