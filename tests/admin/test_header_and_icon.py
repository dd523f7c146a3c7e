"""What surrounds every console page: where "View site" leads, and the site's icon
(also on the viewer's embed page, and at /favicon.ico where browsers look for it)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains

from foundation.admin import change_url

pytestmark = pytest.mark.django_db

ICON = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'


def test_view_site_opens_the_api_reference(admin_client):
    page = admin_client.get(reverse("admin:index"))

    assertContains(page, '<a href="/api/v1/docs/">View site</a>', html=True)
    assert admin_client.get("/api/v1/docs/").status_code == 200


def test_console_pages_and_the_sign_in_page_show_the_icon(admin_client, ready_asset):
    assertContains(admin_client.get(reverse("admin:index")), ICON, html=True)
    assertContains(admin_client.get(change_url(ready_asset)), ICON, html=True)
    assertContains(Client().get(reverse("admin:login")), ICON, html=True)


def test_the_embed_page_shows_the_icon(client, ready_asset):
    playback_id = ready_asset.playback_ids.get().id

    assertContains(client.get(f"/embed/{playback_id}"), ICON, html=True)


def test_favicon_ico_leads_to_the_icon(client):
    response = client.get("/favicon.ico", follow=True)

    assert response.redirect_chain == [("/static/favicon.svg", 302)]
    assert (response.status_code, response["Content-Type"]) == (200, "image/svg+xml")
    assert b"<svg" in b"".join(response.streaming_content)
