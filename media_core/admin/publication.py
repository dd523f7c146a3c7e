"""Publication in the admin: saving the times the form schedules, the actions that
publish and unpublish now, and how the library shows it. Every change goes through
media_core/services/publication.py."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from foundation.admin import apply_to_each, state_label, user_may
from foundation.context import Actor
from foundation.errors import DomainError
from media_core.models import Asset
from media_core.services import publication

from .asset_form import AssetForm


class PublicationAdminMixin:
    def save_schedule(self, request, obj: Asset, form: AssetForm, actor: Actor) -> None:
        schedule = {"publish_at": publication.asset_publish,
                    "unpublish_at": publication.asset_unpublish}
        for name, change_it in schedule.items():
            at = form.cleaned_data.get(name)
            if name in form.changed_data and at is not None:
                try:
                    change_it(asset=obj, actor=actor, at=at)
                except DomainError as exc:
                    messages.error(request, exc.detail)

    @admin.action(description="Publish now", permissions=["publish"])
    def publish_now(self, request, queryset):
        apply_to_each(request, queryset,
                      lambda asset, actor: publication.asset_publish(asset=asset, actor=actor),
                      done="Published")

    @admin.action(description="Unpublish now", permissions=["publish"])
    def unpublish_now(self, request, queryset):
        apply_to_each(request, queryset,
                      lambda asset, actor: publication.asset_unpublish(asset=asset, actor=actor),
                      done="Unpublished")

    def has_publish_permission(self, request) -> bool:
        return user_may(request, "publish", Asset)

    @admin.display(description="publication", ordering="publication_status")
    def publication(self, asset: Asset) -> str:
        status = asset.publication_status
        when = {"scheduled": asset.publish_at, "published": asset.unpublish_at}.get(status)
        if when is None:
            return state_label(status)
        local = timezone.localtime(when).strftime("%Y-%m-%d %H:%M")
        return state_label(status, f"until {local}" if status == "published" else local)
