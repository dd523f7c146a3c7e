"""Environments in the console: the longest video each accepts, shown and changed there."""

from __future__ import annotations

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from foundation.admin import change_url, changelist_url
from foundation.models import AuditEntry, Environment

from .conftest import form_data

pytestmark = pytest.mark.django_db


def test_the_list_shows_each_environments_longest_video(admin_client, environment,
                                                        other_environment):
    Environment.objects.filter(pk=other_environment.pk).update(max_duration_seconds=5400)

    page = admin_client.get(changelist_url(Environment))

    assertContains(page, "Longest video")
    assertContains(page, "12 h (platform default)")
    assertContains(page, "90 min")


def test_an_admin_sets_the_limit_through_the_service_and_it_is_audited(
        admin_client, admin_user, environment):
    page = admin_client.get(change_url(environment))
    assertContains(page, 'name="max_duration_seconds"')
    assertContains(page, "12 h (platform default)")

    data = form_data(page, "environment_form")
    data["max_duration_seconds"] = "7200"
    response = admin_client.post(change_url(environment), data, follow=True)

    assert response.status_code == 200
    environment.refresh_from_db()
    assert (environment.max_duration_seconds, environment.asset_max_duration) == (7200, 7200)
    entry = AuditEntry.objects.get(object_id=environment.id, action="environment.updated")
    assert entry.changes == {"max_duration_seconds": [None, 7200]}
    assert entry.actor_label == admin_user.username
    assertContains(admin_client.get(changelist_url(Environment)), "2 h")


def test_clearing_the_limit_returns_to_the_platform_default(admin_client, environment, settings):
    settings.ASSET_MAX_DURATION_SECONDS = 3 * 3600
    Environment.objects.filter(pk=environment.pk).update(max_duration_seconds=60)
    data = form_data(admin_client.get(change_url(environment)), "environment_form")
    data["max_duration_seconds"] = ""

    admin_client.post(change_url(environment), data)

    environment.refresh_from_db()
    assert (environment.max_duration_seconds, environment.asset_max_duration) == (None, 3 * 3600)


def test_a_new_environment_may_start_with_its_own_limit(admin_client):
    admin_client.post(reverse("admin:foundation_environment_add"),
                      {"name": "short-clips", "max_duration_seconds": "60"})

    made = Environment.objects.get(name="short-clips")
    assert made.max_duration_seconds == 60
    entry = AuditEntry.objects.get(object_id=made.id, action="environment.created")
    assert entry.changes == {"max_duration_seconds": [None, 60], "name": [None, "short-clips"]}


def test_support_staff_see_the_limit_but_cannot_change_it(support_client, environment):
    page = support_client.get(change_url(environment))

    assertContains(page, "12 h (platform default)")
    assertNotContains(page, 'name="max_duration_seconds"')
    data = {"max_duration_seconds": "10"}
    assert support_client.post(change_url(environment), data).status_code == 403
    environment.refresh_from_db()
    assert environment.max_duration_seconds is None
