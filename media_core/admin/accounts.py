"""Environments and API keys."""

from __future__ import annotations

import hashlib

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from foundation.admin import (
    CreateOnlyAdmin,
    apply_to_each,
    audit_trail_link,
    moment,
    small_line,
    state_label,
    time_column,
    user_may,
)
from foundation.context import Actor
from foundation.errors import Conflict
from foundation.models import SCOPES, ApiKey, Environment
from foundation.tenancy import (
    SECRET_PREFIX,
    api_key_create,
    api_key_revoke,
    environment_get_or_create,
    environment_set_max_duration,
    environment_set_publishing,
)
from media_core.models import Asset, PlaybackID, Upload
from webhooks.models import Event

from .assets import count_link


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=[(s, s) for s in SCOPES],
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ["environment", "name", "scopes"]


class ActiveKeyFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() in ("active", "revoked"):
            return queryset.filter(revoked_at__isnull=self.value() == "active")
        return queryset


def _revoke(key: ApiKey, actor: Actor) -> None:
    if key.revoked_at:
        raise Conflict("It was already revoked.")
    api_key_revoke(key=key, actor=actor)


@admin.register(ApiKey)
class ApiKeyAdmin(CreateOnlyAdmin):
    list_display = ["name_and_prefix", "environment", "scope_list", "state", "created",
                    "last_used"]
    list_filter = [ActiveKeyFilter, "environment"]
    list_select_related = ["environment"]
    search_fields = ["=id", "name", "prefix"]
    actions = ["revoke"]
    add_fields = ["environment", "name", "scopes"]
    view_fields = ["id", "environment", "name", "prefix_shown", "scope_list", "active",
                   "created_at", "last_used_at", "revoked_at", "audit_trail"]
    created = time_column("created_at", "created")
    last_used = time_column("last_used_at", "last used")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change, **kwargs)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_revoke_permission(self, request) -> bool:
        return user_may(request, "change", ApiKey)

    def get_search_results(self, request, queryset, search_term):
        # A whole secret pasted by support (from a leaked log, say) finds its key by hash.
        term = search_term.strip()
        if term.startswith(SECRET_PREFIX) and len(term) > len(SECRET_PREFIX) + 6:
            digest = hashlib.sha256(term.encode()).hexdigest()
            return queryset.filter(secret_hash=digest), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request, obj, form, change):
        key, secret = api_key_create(environment=form.cleaned_data["environment"],
                                     name=form.cleaned_data["name"],
                                     scopes=form.cleaned_data["scopes"],
                                     actor=Actor.for_user(request.user))
        obj.pk, obj.prefix, obj.secret_hash, obj.scopes, obj.created_at = (
            key.pk, key.prefix, key.secret_hash, key.scopes, key.created_at)
        obj._state.adding = False
        # Only held for the response that shows it; it is stored nowhere.
        obj.new_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(obj, "new_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        # Shown in this response only, never redirected through the session or a cookie.
        response = TemplateResponse(request, "admin/media_core/apikey/secret_once.html", {
            **self.admin_site.each_context(request),
            "title": "Copy the new API key now",
            "opts": self.model._meta,
            "key": obj,
            "secret": secret,
        })
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke", permissions=["revoke"])
    def revoke(self, request, queryset):
        apply_to_each(request, queryset, _revoke, done="Revoked")

    @admin.display(description="name", ordering="name")
    def name_and_prefix(self, key: ApiKey) -> str:
        return format_html("{}{}", key.name, small_line(f"{key.prefix}…"))

    @admin.display(description="status", ordering="revoked_at")
    def state(self, key: ApiKey) -> str:
        if key.revoked_at:
            return format_html("{}{}", state_label("revoked"), small_line(moment(key.revoked_at)))
        return state_label("active")

    @admin.display(description="prefix", ordering="prefix")
    def prefix_shown(self, key: ApiKey) -> str:
        return f"{key.prefix}…"

    @admin.display(description="scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes)

    @admin.display(description="active", boolean=True)
    def active(self, key: ApiKey) -> bool:
        return key.is_active

    @admin.display(description="audit trail")
    def audit_trail(self, key: ApiKey) -> str:
        return audit_trail_link(key.id)


# --- environments -------------------------------------------------------------------
def duration_text(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds // 60:g} min"
    return f"{seconds:g} s"


@admin.register(Environment)
class EnvironmentAdmin(CreateOnlyAdmin):
    list_display = ["name_and_id", "publishing", "duration_limit", "created"]
    search_fields = ["=id", "name"]
    add_fields = ["name", "max_duration_seconds"]  # publishing: auto, changed on its page
    view_fields = ["id", "name", "publishing", "max_duration_seconds", "duration_limit",
                   "created_at", "contents", "usage", "audit_trail"]
    # The settings an operator changes after creation; the services audit them.
    editable_fields = ["publishing", "max_duration_seconds"]
    created = time_column("created_at", "created")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return user_may(request, "change", Environment)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [f for f in self.view_fields if f not in self.editable_fields]

    def save_model(self, request, obj, form, change):
        actor = Actor.for_user(request.user)
        if change:
            environment_set_max_duration(
                environment=obj, actor=actor,
                max_duration_seconds=form.cleaned_data["max_duration_seconds"])
            environment_set_publishing(environment=obj, actor=actor,
                                       publishing=form.cleaned_data["publishing"])
            return
        made = environment_get_or_create(
            name=form.cleaned_data["name"], actor=actor,
            max_duration_seconds=form.cleaned_data["max_duration_seconds"])
        obj.pk, obj.created_at = made.pk, made.created_at
        obj._state.adding = False

    @admin.display(description="name", ordering="name")
    def name_and_id(self, environment: Environment) -> str:
        return format_html("{}{}", environment.name, small_line(environment.id))

    @admin.display(description="longest video")
    def duration_limit(self, environment: Environment) -> str:
        shown = duration_text(environment.asset_max_duration)
        if environment.max_duration_seconds is None:
            return f"{shown} (platform default)"
        return shown

    @admin.display(description="contents")
    def contents(self, environment: Environment) -> str:
        return format_html_join(" · ", "{}", (
            (count_link(model, label, environment__id__exact=environment.id),)
            for model, label in [(Asset, "Assets"), (Upload, "Uploads"),
                                 (PlaybackID, "Playback IDs"), (ApiKey, "API keys"),
                                 (Event, "Events")]))

    @admin.display(description="usage")
    def usage(self, environment: Environment) -> str:
        return format_html('<a href="{}?{}">Usage per day</a> (processing, storage, delivery, '
                           "live)", reverse("admin-usage"),
                           urlencode({"environment": environment.id}))

    @admin.display(description="audit trail")
    def audit_trail(self, environment: Environment) -> str:
        return audit_trail_link(environment.id)
