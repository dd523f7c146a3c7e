"""The media console: what editors and support staff see of assets, uploads and keys.

Nothing here writes a row itself. Forms and actions call the services, with the
signed-in user as the actor, so the admin leaves the same audit entries and events as
the API does.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from foundation.admin import (
    CreateOnlyAdmin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    apply_to_each,
    audit_trail_link,
    bullet_list,
    changelist_url,
    link_to,
    percent,
    pretty_json,
    progress_bar,
    state_label,
    user_may,
)
from foundation.context import Actor
from foundation.errors import Conflict, InvalidTransition
from foundation.models import AuditEntry
from media_core.models import (
    SCOPES,
    ApiKey,
    Asset,
    Environment,
    PlaybackID,
    ProcessingJob,
    Rendition,
    Upload,
)
from media_core.services.api_keys import (
    SECRET_PREFIX,
    api_key_create,
    api_key_revoke,
    environment_get_or_create,
)
from media_core.services.assets import (
    asset_delete,
    asset_retry,
    asset_update,
    playback_id_create,
    playback_id_delete,
)
from media_core.services.uploads import upload_cancel
from webhooks.models import Event

STUCK_PREPARING = timedelta(minutes=30)
STUCK_QUEUED = timedelta(minutes=10)


# --- shared -------------------------------------------------------------------------
def playback_url(playback_id: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/v/{playback_id}.m3u8"


def _latest_job(field: str) -> Subquery:
    # Job ids sort by creation time, so the highest id is the latest attempt to process.
    return Subquery(ProcessingJob.objects.filter(asset=OuterRef("pk")).order_by("-id")
                    .values(field)[:1])


def with_latest_job(assets: QuerySet[Asset]) -> QuerySet[Asset]:
    return assets.annotate(
        latest_job_status=_latest_job("status"),
        latest_job_progress=_latest_job("progress"),
        latest_job_created_at=_latest_job("created_at"),
        latest_job_lease_expires_at=_latest_job("lease_expires_at"),
    )


def _retry(asset: Asset, actor: Actor) -> None:
    if not Asset.TRANSITIONS.allowed(asset.status, Asset.Status.PREPARING):
        retryable = " or ".join(Asset.TRANSITIONS.sources_of(Asset.Status.PREPARING))
        raise InvalidTransition(
            f"Only {retryable} assets can be retried; this one is {asset.status}.")
    asset_retry(asset=asset, actor=actor)


def _cancel(upload: Upload, actor: Actor) -> None:
    if not Upload.TRANSITIONS.allowed(upload.status, Upload.Status.CANCELLED):
        waiting = " or ".join(Upload.TRANSITIONS.sources_of(Upload.Status.CANCELLED))
        raise InvalidTransition(
            f"Only {waiting} uploads can be cancelled; this one is {upload.status}.")
    upload_cancel(upload=upload, actor=actor)


def _count_link(model, label: str, **filters: str) -> str:
    return format_html('<a href="{}">{}</a>', changelist_url(model, **filters), label)


# --- assets -------------------------------------------------------------------------
class AssetAttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("errored", "Errored"), ("stuck", "Stuck")]

    def queryset(self, request, queryset):
        live = queryset.filter(deleted_at__isnull=True)
        if self.value() == "errored":
            return live.filter(status=Asset.Status.ERRORED)
        if self.value() == "stuck":
            now = timezone.now()
            # A retried asset starts preparing again, so it has been preparing since its
            # latest job was made, not since the asset was.
            preparing_long = Q(status=Asset.Status.PREPARING) & (
                Q(latest_job_created_at__lt=now - STUCK_PREPARING)
                | Q(latest_job_created_at__isnull=True))
            worker_gone = Q(latest_job_status=ProcessingJob.Status.RUNNING,
                            latest_job_lease_expires_at__lt=now)
            return live.filter(preparing_long | worker_gone)
        return queryset


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "No"), ("yes", "Yes")]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(deleted_at__isnull=self.value() == "no")
        return queryset


class PlaybackIDInline(ReadOnlyInline):
    model = PlaybackID
    fields = ["id", "policy", "url", "created_at"]
    readonly_fields = fields

    @admin.display(description="URL")
    def url(self, playback_id: PlaybackID) -> str:
        return playback_url(playback_id.id)


class RenditionInline(ReadOnlyInline):
    model = Rendition
    fields = ["name", "kind", "width", "height", "frame_rate", "bitrate", "peak_bitrate",
              "codecs"]
    readonly_fields = fields


class ProcessingJobInline(ReadOnlyInline):
    model = ProcessingJob
    fields = ["job", "state", "attempts_of", "progress_percent", "stage", "error_code",
              "created_at", "finished_at"]
    readonly_fields = fields
    ordering = ["-id"]

    @admin.display(description="job")
    def job(self, job: ProcessingJob) -> str:
        return link_to(job, job.id)

    @admin.display(description="status")
    def state(self, job: ProcessingJob) -> str:
        return state_label(job.status)

    @admin.display(description="attempts")
    def attempts_of(self, job: ProcessingJob) -> str:
        return f"{job.attempts}/{job.max_attempts}"

    @admin.display(description="progress")
    def progress_percent(self, job: ProcessingJob) -> str:
        return percent(job.progress)


class AssetForm(forms.ModelForm):
    class Meta:
        model = Asset
        fields = ["title", "passthrough"]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    form = AssetForm
    list_display = ["id", "title", "state", "progress", "duration", "max_resolution",
                    "environment", "upload_link", "created_at"]
    list_filter = [AssetAttentionFilter, "status", DeletedFilter, "environment"]
    list_select_related = ["environment", "upload"]
    search_fields = ["=id", "title", "passthrough", "=upload__id", "=playback_ids__id",
                     "=jobs__id"]
    actions = ["retry_processing", "delete_with_media"]
    inlines = [PlaybackIDInline, RenditionInline, ProcessingJobInline]
    fieldsets = [
        (None, {"fields": ["id", "environment", "state", "title", "passthrough", "created_at",
                           "ready_at", "deleted_at"]}),
        ("Processing", {"fields": ["latest_job", "error_type", "error_list", "duration",
                                   "aspect_ratio", "max_resolution", "track_list",
                                   "master_name", "master_size", "media_prefix"]}),
        ("Playback", {"fields": ["playback"]}),
        ("Related", {"fields": ["upload_link", "jobs_link", "audit_trail", "events_link"]}),
    ]
    readonly_fields = [
        "id", "environment", "state", "created_at", "ready_at", "deleted_at", "latest_job",
        "error_type", "error_list", "duration", "aspect_ratio", "max_resolution", "track_list",
        "master_name", "master_size", "media_prefix", "playback", "upload_link", "jobs_link",
        "audit_trail", "events_link",
    ]

    def get_queryset(self, request):
        return with_latest_job(super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.deleted_at:
            return [*self.readonly_fields, *AssetForm.Meta.fields]
        return self.readonly_fields

    # Assets come from uploads (and live recordings); they are not made by hand.
    def has_add_permission(self, request) -> bool:
        return False

    # Deleting is an action: it hides the asset and removes its media, keeping its history.
    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_retry_permission(self, request) -> bool:
        return user_may(request, "change", Asset)

    def has_remove_permission(self, request) -> bool:
        return user_may(request, "delete", Asset)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in form.changed_data
                  if name in AssetForm.Meta.fields}
        if fields:
            asset_update(asset=obj, actor=Actor.for_user(request.user), **fields)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_retry"] = (obj is not None and not obj.deleted_at
                                and obj.status == Asset.Status.ERRORED
                                and self.has_retry_permission(request))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_change(self, request, obj):
        if "_retry" in request.POST and self.has_retry_permission(request):
            apply_to_each(request, [obj], _retry, done="Retrying")
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    @admin.action(description="Retry processing", permissions=["retry"])
    def retry_processing(self, request, queryset):
        apply_to_each(request, queryset, _retry, done="Retrying")

    @admin.action(description="Delete asset and its media", permissions=["remove"])
    def delete_with_media(self, request, queryset):
        if request.POST.get("post") != "yes":
            return TemplateResponse(request, "admin/media_core/asset/delete_with_media.html", {
                **self.admin_site.each_context(request),
                "title": "Delete these assets and their media?",
                "opts": self.model._meta,
                "assets": queryset,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            })
        already = queryset.filter(deleted_at__isnull=False).count()
        if already:
            messages.info(request, f"{already} of the selected assets had already been deleted.")
        apply_to_each(request, queryset.filter(deleted_at__isnull=True),
                      lambda asset, actor: asset_delete(asset=asset, actor=actor),
                      done="Deleted")

    @admin.display(description="status", ordering="status")
    def state(self, asset: Asset) -> str:
        return state_label(asset.status, "deleted" if asset.deleted_at else "")

    @admin.display(description="progress")
    def progress(self, asset: Asset) -> str:
        if asset.status != Asset.Status.PREPARING:
            return "-"
        return percent(asset.latest_job_progress or 0.0)

    @admin.display(description="upload")
    def upload_link(self, asset: Asset) -> str:
        upload = getattr(asset, "upload", None)
        return link_to(upload, upload.id) if upload else "-"

    @admin.display(description="latest job")
    def latest_job(self, asset: Asset) -> str:
        job = asset.jobs.order_by("-id").first()
        if job is None:
            return "-"
        return format_html("{} {} {}, attempt {}/{}{}", progress_bar(job.progress),
                           link_to(job, job.id), state_label(job.status, job.stage),
                           job.attempts, job.max_attempts,
                           f" ({job.error_code})" if job.error_code else "")

    @admin.display(description="error messages")
    def error_list(self, asset: Asset) -> str:
        return bullet_list(asset.error_messages)

    @admin.display(description="tracks")
    def track_list(self, asset: Asset) -> str:
        return pretty_json(asset.tracks) if asset.tracks else "-"

    @admin.display(description="playback")
    def playback(self, asset: Asset) -> str:
        playback_ids = list(asset.playback_ids.all())
        rows = format_html_join("", '<li><a href="{}">{}</a> ({})</li>', (
            (playback_url(p.id), playback_url(p.id),
             p.policy if p.policy == PlaybackID.Policy.PUBLIC else f"{p.policy}: needs a token")
            for p in playback_ids))
        public = [p for p in playback_ids if p.policy == PlaybackID.Policy.PUBLIC]
        poster = ""
        if public and asset.status == Asset.Status.READY:
            poster = format_html('<p><img src="/v/{}/thumbnail.jpg" alt="poster" '
                                 'style="max-width: 320px"></p>', public[0].id)
        add = ""
        if not asset.deleted_at:
            add = format_html('<p><a href="{}?{}">Add a playback ID</a></p>',
                              reverse("admin:media_core_playbackid_add"),
                              urlencode({"asset": asset.id}))
        if not playback_ids:
            return format_html("<p>No playback IDs.</p>{}", add)
        return format_html("<ul>{}</ul>{}{}", rows, poster, add)

    @admin.display(description="processing jobs")
    def jobs_link(self, asset: Asset) -> str:
        count = asset.jobs.count()
        return _count_link(ProcessingJob, f"{count} processing job{'' if count == 1 else 's'}",
                           asset__id__exact=asset.id)

    @admin.display(description="audit trail")
    def audit_trail(self, asset: Asset) -> str:
        return audit_trail_link(asset.id)

    @admin.display(description="events")
    def events_link(self, asset: Asset) -> str:
        return _count_link(Event, "Events about this asset", object_id=asset.id)


# --- uploads ------------------------------------------------------------------------
class UploadAttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("expired_waiting", "Expired but still waiting")]

    def queryset(self, request, queryset):
        if self.value() == "expired_waiting":
            return queryset.filter(status=Upload.Status.WAITING, expires_at__lt=timezone.now())
        return queryset


@admin.register(Upload)
class UploadAdmin(ReadOnlyAdmin):
    list_display = ["id", "state", "environment", "asset_link", "size_bytes", "expires_at",
                    "created_at"]
    list_filter = [UploadAttentionFilter, "status", "environment"]
    list_select_related = ["environment", "asset"]
    search_fields = ["=id", "=asset__id", "cors_origin"]
    actions = ["cancel"]
    fields = ["id", "environment", "state", "asset_link", "settings", "cors_origin", "timeout",
              "expires_at", "size_bytes", "error_type", "error_message", "created_at",
              "updated_at", "audit_trail"]
    readonly_fields = fields

    def has_cancel_permission(self, request) -> bool:
        return user_may(request, "change", Upload)

    @admin.action(description="Cancel upload", permissions=["cancel"])
    def cancel(self, request, queryset):
        apply_to_each(request, queryset, _cancel, done="Cancelled")

    @admin.display(description="status", ordering="status")
    def state(self, upload: Upload) -> str:
        expired = upload.status == Upload.Status.WAITING and upload.expires_at < timezone.now()
        return state_label(upload.status, "expired" if expired else "")

    @admin.display(description="asset")
    def asset_link(self, upload: Upload) -> str:
        return link_to(upload.asset)

    @admin.display(description="new asset settings")
    def settings(self, upload: Upload) -> str:
        return pretty_json(upload.new_asset_settings)

    @admin.display(description="audit trail")
    def audit_trail(self, upload: Upload) -> str:
        return audit_trail_link(upload.id)


# --- processing jobs ----------------------------------------------------------------
class JobStuckFilter(admin.SimpleListFilter):
    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [("yes", "Stuck")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            now = timezone.now()
            # updated_at, not created_at: a job handed back to the queue after a failed
            # attempt was made long ago but has waited only since its last heartbeat.
            return queryset.filter(
                Q(status=ProcessingJob.Status.RUNNING, lease_expires_at__lt=now)
                | Q(status=ProcessingJob.Status.QUEUED, updated_at__lt=now - STUCK_QUEUED))
        return queryset


@admin.register(ProcessingJob)
class ProcessingJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "asset_link", "state", "attempts_of", "progress_percent", "stage",
                    "worker", "error_code", "created_at", "started_at", "finished_at"]
    list_filter = [JobStuckFilter, "status", "stage", "error_code"]
    list_select_related = ["asset"]
    search_fields = ["=id", "=asset__id", "=request_id", "worker"]
    actions = ["retry_asset"]
    fields = ["id", "asset_link", "state", "attempts_of", "progress", "stage", "worker",
              "lease_expires_at", "output_prefix", "error_code", "error_message", "stderr",
              "request_link", "created_at", "started_at", "finished_at", "updated_at", "audit_trail"]
    readonly_fields = fields

    def has_retry_permission(self, request) -> bool:
        return user_may(request, "change", Asset)

    @admin.action(description="Retry the asset", permissions=["retry"])
    def retry_asset(self, request, queryset):
        assets = Asset.objects.filter(jobs__in=queryset).distinct()
        apply_to_each(request, assets, _retry, done="Retrying")

    @admin.display(description="asset", ordering="asset")
    def asset_link(self, job: ProcessingJob) -> str:
        return link_to(job.asset)

    @admin.display(description="status", ordering="status")
    def state(self, job: ProcessingJob) -> str:
        return state_label(job.status)

    @admin.display(description="attempts")
    def attempts_of(self, job: ProcessingJob) -> str:
        return f"{job.attempts}/{job.max_attempts}"

    @admin.display(description="progress", ordering="progress")
    def progress_percent(self, job: ProcessingJob) -> str:
        return percent(job.progress)

    @admin.display(description="progress")
    def progress(self, job: ProcessingJob) -> str:
        return progress_bar(job.progress)

    @admin.display(description="FFmpeg output (last lines)")
    def stderr(self, job: ProcessingJob) -> str:
        return format_html("<pre>{}</pre>", job.stderr_tail) if job.stderr_tail else "-"

    @admin.display(description="request")
    def request_link(self, job: ProcessingJob) -> str:
        if not job.request_id:
            return "-"
        return _count_link(AuditEntry, job.request_id, request_id=job.request_id)

    @admin.display(description="audit trail")
    def audit_trail(self, job: ProcessingJob) -> str:
        return audit_trail_link(job.id)


# --- playback IDs -------------------------------------------------------------------
class PlaybackIDForm(forms.ModelForm):
    class Meta:
        model = PlaybackID
        fields = ["asset", "policy"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "asset" in self.fields:
            self.fields["asset"].required = True
            self.fields["asset"].queryset = Asset.objects.filter(deleted_at__isnull=True)


@admin.register(PlaybackID)
class PlaybackIDAdmin(CreateOnlyAdmin):
    form = PlaybackIDForm
    list_display = ["id", "asset_link", "policy", "url", "environment", "created_at"]
    list_filter = ["policy", "environment"]
    list_select_related = ["asset", "environment"]
    search_fields = ["=id", "=asset__id", "asset__title"]
    raw_id_fields = ["asset"]
    add_fields = ["asset", "policy"]
    view_fields = ["id", "asset_link", "policy", "url", "environment", "created_at"]

    def save_model(self, request, obj, form, change):
        created = playback_id_create(asset=form.cleaned_data["asset"],
                                     policy=form.cleaned_data["policy"],
                                     actor=Actor.for_user(request.user))
        # The admin goes on to log and link to the row the service made.
        obj.pk, obj.environment_id, obj.created_at = created.pk, created.environment_id, created.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        playback_id_delete(playback_id=obj, actor=Actor.for_user(request.user))

    def delete_queryset(self, request, queryset):
        actor = Actor.for_user(request.user)
        for playback_id in queryset.select_related("asset"):
            playback_id_delete(playback_id=playback_id, actor=actor)

    @admin.display(description="asset", ordering="asset")
    def asset_link(self, playback_id: PlaybackID) -> str:
        return link_to(playback_id.asset)

    @admin.display(description="URL")
    def url(self, playback_id: PlaybackID) -> str:
        return playback_url(playback_id.id)


# --- API keys -----------------------------------------------------------------------
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
    list_display = ["name", "prefix_shown", "environment", "scope_list", "active", "created_at",
                    "last_used_at", "revoked_at"]
    list_filter = [ActiveKeyFilter, "environment"]
    list_select_related = ["environment"]
    search_fields = ["=id", "name", "prefix"]
    actions = ["revoke"]
    add_fields = ["environment", "name", "scopes"]
    view_fields = ["id", "environment", "name", "prefix_shown", "scope_list", "active",
                   "created_at", "last_used_at", "revoked_at", "audit_trail"]

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
@admin.register(Environment)
class EnvironmentAdmin(CreateOnlyAdmin):
    list_display = ["name", "id", "created_at"]
    search_fields = ["=id", "name"]
    add_fields = ["name"]
    view_fields = ["id", "name", "created_at", "contents", "audit_trail"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        made = environment_get_or_create(name=form.cleaned_data["name"],
                                         actor=Actor.for_user(request.user))
        obj.pk, obj.created_at = made.pk, made.created_at
        obj._state.adding = False

    @admin.display(description="contents")
    def contents(self, environment: Environment) -> str:
        return format_html_join(" · ", "{}", (
            (_count_link(model, label, environment__id__exact=environment.id),)
            for model, label in [(Asset, "Assets"), (Upload, "Uploads"),
                                 (PlaybackID, "Playback IDs"), (ApiKey, "API keys"),
                                 (Event, "Events")]))

    @admin.display(description="audit trail")
    def audit_trail(self, environment: Environment) -> str:
        return audit_trail_link(environment.id)
