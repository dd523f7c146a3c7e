"""Personas and objects for the admin: an administrator, support staff who may only look,
and a signed-in user who is not staff; assets in each state, made by the real services."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from foundation import roles
from foundation.admin import changelist_url
from media_core.processing.pipeline import run_job
from tests.clips import make_clip, random_bytes
from tests.factories import asset_from_file, failed_asset


def processed(asset):
    """Run the asset's queued job here, as a worker would, and return the asset after it."""
    run_job(asset.jobs.latest("id").id)
    asset.refresh_from_db()
    return asset


@pytest.fixture
def preparing_asset(environment, tmp_path):
    return asset_from_file(environment, random_bytes(tmp_path / "waiting.mp4"), title="Waiting")


@pytest.fixture
def errored_asset(environment, tmp_path):
    return failed_asset(environment, make_clip(tmp_path / "crashed.mp4"), title="Noise")


@pytest.fixture
def refused_asset(environment, tmp_path):
    return processed(asset_from_file(environment, random_bytes(tmp_path / "noise.mp4"),
                                     title="Noise"))


@pytest.fixture
def ready_asset(environment, tmp_path):
    return processed(asset_from_file(environment, make_clip(tmp_path / "clip.mp4"),
                                     title="Sunrise"))


@pytest.fixture
def support_client(client, django_user_model):
    """Staff who may read everything in the console and change nothing."""
    user = django_user_model.objects.create_user("support", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(
        codename__startswith="view_",
        content_type__app_label__in=["media_core", "foundation", "webhooks", "live"]))
    client.force_login(user)
    return client


@pytest.fixture
def member(client, django_user_model):
    """A client signed in as a staff user whose only permissions come from one role."""
    def sign_in(role: str):
        roles.sync_roles()
        user = django_user_model.objects.create_user(role.lower().replace(" ", "-"),
                                                     password="pw", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def outsider_client(client, django_user_model):
    user = django_user_model.objects.create_user("viewer", password="pw")
    client.force_login(user)
    return client


@pytest.fixture
def run_action():
    def run(client, model, action: str, objects, **extra):
        return client.post(changelist_url(model), {
            "action": action, "index": 0,
            "_selected_action": [obj.pk for obj in objects], **extra,
        }, follow=True)

    return run


class _FormReader(HTMLParser):
    """The fields a browser would submit from the page's main form."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.data: dict[str, list[str]] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if not self.inside or "name" not in attrs and tag != "option":
            return
        if tag == "input" and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data.setdefault(attrs["name"], []).append(attrs.get("value") or "")
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.data.setdefault(self._textarea, []).append("")
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select and "selected" in attrs:
            self.data.setdefault(self._select, []).append(attrs.get("value") or "")

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            # Browsers drop the newline that opens a textarea's content.
            value = self.data[self._textarea][-1]
            self.data[self._textarea][-1] = value[1:] if value.startswith("\n") else value
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self.inside = False


def form_data(response, form_id: str) -> dict[str, list[str]]:
    reader = _FormReader(form_id)
    reader.feed(response.content.decode())
    assert reader.data, f"no form #{form_id} on the page"
    return reader.data


def delete_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_delete",
                   args=[quote(obj.pk)])
