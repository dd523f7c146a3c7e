"""Publication in the admin: saving the times the form schedules, the actions that
publish and unpublish now, and how the library shows it. Every change goes through
media_core/services/publication.py."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
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

    # The asset page's own buttons, beside its preview: the same services as the actions.
    BUTTONS = {"_publish": (publication.asset_publish, "Published"),
               "_unpublish": (publication.asset_unpublish, "Unpublished")}

    def publication_context(self, request, asset: Asset | None) -> dict:
        if asset is None or asset.deleted_at or not self.has_publish_permission(request):
            return {}
        status = asset.publication_status
        return {"publication_shown": self.publication(asset),
                "can_publish": asset.status == Asset.Status.READY and status != "published",
                "can_unpublish": status in ("published", "scheduled")}

    def publication_response(self, request, asset: Asset) -> HttpResponseRedirect | None:
        for button, (change_it, done) in self.BUTTONS.items():
            if button in request.POST and self.has_publish_permission(request):
                apply_to_each(request, [asset],
                              lambda one, actor, act=change_it: act(asset=one, actor=actor),
                              done=done)
                return HttpResponseRedirect(request.path)
        return None

    @admin.display(description="publication", ordering="publication_status")
    def publication(self, asset: Asset) -> str:
        status = asset.publication_status
        when = {"scheduled": asset.publish_at, "published": asset.unpublish_at}.get(status)
        if when is None:
            return state_label(status)
        local = timezone.localtime(when).strftime("%Y-%m-%d %H:%M")
        return state_label(status, f"until {local}" if status == "published" else local)
