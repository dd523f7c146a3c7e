from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from foundation.models import AuditEntry
from playback.models import SigningKey
from playback.services import signing_key_create
from tests.conftest import ADMIN

pytestmark = pytest.mark.django_db


def test_support_sees_a_key_and_finds_it_by_id(admin_client, environment):
    key, _ = signing_key_create(environment=environment, actor=ADMIN)

    page = admin_client.get(reverse("admin:playback_signingkey_change", args=[quote(key.id)]))
    found = admin_client.get("/admin/find/", {"id": key.id})

    assert page.status_code == 200 and b"BEGIN PUBLIC KEY" in page.content
    assert b"PRIVATE" not in page.content
    assert found.status_code == 302 and quote(key.id) in found["Location"]


def test_deleting_a_key_in_the_admin_goes_through_the_service(admin_client, admin_user, environment):
    key, _ = signing_key_create(environment=environment, actor=ADMIN)

    response = admin_client.post(reverse("admin:playback_signingkey_changelist"),
                                 {"action": "delete_keys", "_selected_action": [key.id]},
                                 follow=True)

    assert response.status_code == 200
    assert not SigningKey.objects.filter(pk=key.pk).exists()
    entry = AuditEntry.objects.get(object_id=key.id, action="signing_key.deleted")
    assert entry.actor_id == str(admin_user.pk)
