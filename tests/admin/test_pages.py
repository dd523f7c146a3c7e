"""Every console page renders, and lists cost the same number of queries for many rows."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from foundation.admin import change_url, changelist_url
from foundation.models import ApiKey, AuditEntry, Environment
from foundation.tenancy import api_key_revoke
from media_core.models import Asset, PlaybackID, ProcessingJob, Upload
from tests.clips import random_bytes
from tests.conftest import ADMIN
from tests.factories import asset_from_file, upload_for
from webhooks.models import Event

pytestmark = pytest.mark.django_db

CONSOLE = [Asset, Upload, ProcessingJob, PlaybackID, ApiKey, Environment, AuditEntry, Event]
ADDABLE = [PlaybackID, ApiKey, Environment]


@pytest.fixture
def world(environment, ready_asset, errored_asset, preparing_asset, make_key):
    upload_for(environment, title="still waiting")
    key, _ = make_key(environment, name="revoked key")
    api_key_revoke(key=key, actor=ADMIN)
    make_key(environment, name="live key")


def test_every_console_page_renders(admin_client, world):
    pages = [reverse("admin:index"), reverse("admin-find"),
             reverse("admin:app_list", args=["media_core"])]
    for model in CONSOLE:
        pages.append(changelist_url(model))
        pages += [change_url(obj) for obj in model.objects.all()]
    pages += [changelist_url(model) + "add/" for model in ADDABLE]
    for model, options in [(Asset, ["attention=errored", "attention=stuck", "deleted=yes"]),
                           (Upload, ["attention=expired_waiting"]),
                           (ProcessingJob, ["stuck=yes"]),
                           (ApiKey, ["state=active", "state=revoked"])]:
        pages += [f"{changelist_url(model)}?{option}" for option in options]

    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert b"errornote" not in response.content, url


def test_every_console_link_on_an_object_page_leads_to_a_page(admin_client, world):
    objects = [*Asset.objects.all(), *Upload.objects.all(), *ProcessingJob.objects.all(),
               *ApiKey.objects.all(), *Environment.objects.all(), *AuditEntry.objects.all()[:5]]
    links = set()
    for obj in objects:
        page = admin_client.get(change_url(obj))
        links |= {unescape(href) for href in re.findall(r'href="(/admin/[^"]+)"',
                                                         page.content.decode())
                  if "/logout/" not in href and "/password_change/" not in href}

    for link in sorted(links):
        response = admin_client.get(link)
        if response.status_code == 302:
            # Find-by-ID links go on to the object; a refused filter would come back as ?e=1.
            assert "?e=1" not in response["Location"], link
            response = admin_client.get(response["Location"])
        assert response.status_code == 200, link


def test_only_playback_ids_keys_and_environments_are_added_by_hand(admin_client):
    for model in CONSOLE:
        expected = 200 if model in ADDABLE else 403
        assert admin_client.get(changelist_url(model) + "add/").status_code == expected, model


def _make_rows(environment, make_key, tmp_path, start: int, count: int) -> None:
    for n in range(start, start + count):
        asset = asset_from_file(environment, random_bytes(tmp_path / f"{n}.mp4", 1000),
                                title=f"Clip {n}")
        ProcessingJob.objects.filter(asset=asset).update(progress=n / 100)
        upload_for(environment)
        make_key(environment, name=f"key {n}")


@pytest.mark.parametrize("model", CONSOLE)
def test_a_list_of_many_rows_takes_no_more_queries_than_a_list_of_one(
        admin_client, environment, make_key, tmp_path, django_assert_max_num_queries, model):
    _make_rows(environment, make_key, tmp_path, 0, 1)
    url = changelist_url(model)
    admin_client.get(url)
    with CaptureQueriesContext(connection) as one_row:
        admin_client.get(url)

    _make_rows(environment, make_key, tmp_path, 1, 7)

    with django_assert_max_num_queries(len(one_row)):
        page = admin_client.get(url)
    assert page.status_code == 200
    assert len(page.context["cl"].result_list) >= (1 if model is Environment else 8)
