"""Assets and their playback IDs: the editor's and support's main pages."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import timedelta

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
    ReadOnlyInline,
    apply_to_each,
    audit_trail_link,
    bullet_list,
    changelist_url,
    link_to,
    percent,
    progress_bar,
    state_label,
    user_may,
)
from foundation.context import Actor
from foundation.errors import InvalidTransition
from media_core.models import (
    Asset,
    PlaybackID,
    ProcessingJob,
    Rendition,
)
from media_core.services import publication
from media_core.services.assets import (
    asset_delete,
    asset_retry,
    asset_retry_refusal,
    asset_update,
)
from webhooks.models import Event, WebhookDelivery

from .asset_form import AssetForm
from .clips import ClipsAdminMixin
from .library import LibraryColumnsMixin, track_rows
from .player import editor_context
from .publication import PublicationAdminMixin
from .tracks import TextTrackAdminMixin, TextTrackInline
from .upload_page import UploadPageMixin

STUCK_PREPARING = timedelta(minutes=30)


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


def retry_asset_processing(asset: Asset, actor: Actor) -> None:
    if not Asset.TRANSITIONS.allowed(asset.status, Asset.Status.PREPARING):
        retryable = " or ".join(Asset.TRANSITIONS.sources_of(Asset.Status.PREPARING))
        raise InvalidTransition(
            f"Only {retryable} assets can be retried; this one is {asset.status}.")
    asset_retry(asset=asset, actor=actor)


def count_link(model, label: str, **filters: str) -> str:
    return format_html('<a href="{}">{}</a>', changelist_url(model, **filters), label)


# A job's changing facts, marked with its id: while the asset prepares, the page's
# progress script (static/admin/kino/asset_progress.js) rewrites every element marked
# for the latest job, so the progress line and the jobs table show the same moment.
def job_fact(job: ProcessingJob, field: str, content: str, *, element_id: str = "",
             flags: tuple[str, ...] = ()) -> str:
    """`content` in an element the script rewrites; `flags` say how (data-bar: as a
    progress bar, data-with-stage: the status followed by the stage)."""
    return format_html('<span{} data-job="{}" data-job-field="{}"{}>{}</span>',
                       format_html(' id="{}"', element_id) if element_id else "",
                       job.id, field, format_html_join("", " {}", ((f,) for f in flags)),
                       content)


def job_status(job: ProcessingJob, *, with_stage: bool = False, element_id: str = "") -> str:
    return job_fact(job, "status", state_label(job.status, job.stage if with_stage else ""),
                    element_id=element_id, flags=("data-with-stage",) if with_stage else ())


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
    fields = ["job", "state", "attempts_of", "progress_percent", "stage_now", "error_code",
              "created_at", "finished_at"]
    readonly_fields = fields
    ordering = ["-id"]

    @admin.display(description="job")
    def job(self, job: ProcessingJob) -> str:
        return link_to(job, job.id)

    @admin.display(description="status")
    def state(self, job: ProcessingJob) -> str:
        return job_status(job)

    @admin.display(description="attempts")
    def attempts_of(self, job: ProcessingJob) -> str:
        return job_fact(job, "attempts", f"{job.attempts}/{job.max_attempts}")

    @admin.display(description="progress")
    def progress_percent(self, job: ProcessingJob) -> str:
        return job_fact(job, "progress", percent(job.progress))

    @admin.display(description="stage")
    def stage_now(self, job: ProcessingJob) -> str:
        return job_fact(job, "stage", job.stage or "-")


# Whether the user of the page being drawn may add a playback ID (set per request).
_may_add_playback_id: ContextVar[bool] = ContextVar("may_add_playback_id", default=False)


@admin.register(Asset)
class AssetAdmin(LibraryColumnsMixin, PublicationAdminMixin, TextTrackAdminMixin, ClipsAdminMixin,
                 UploadPageMixin, admin.ModelAdmin):
    form = AssetForm
    # Fits 1400 px: the title over the id, a thumbnail, the states, what a row needs.
    list_display = ["thumbnail", "title_and_id", "state_in_list", "publication",
                    "duration_shown", "created"]
    list_display_links = ["thumbnail", "title_and_id"]
    list_filter = [AssetAttentionFilter, "status", "publication_status", DeletedFilter,
                   "environment"]
    list_select_related = ["environment", "upload"]
    search_fields = ["=id", "title", "description", "tags", "passthrough", "=upload__id", "=playback_ids__id",
                     "=jobs__id"]
    actions = ["publish_now", "unpublish_now", "retry_processing", "delete_with_media"]
    inlines = [PlaybackIDInline, TextTrackInline, RenditionInline, ProcessingJobInline]
    fieldsets = [
        (None, {"fields": ["id", "environment", "state", "title", "passthrough", "created_at",
                           "ready_at", "deleted_at"]}),
        ("Description", {"fields": ["description", "tags", "metadata", "chapters",
                                    "poster_time"]}),
        ("Publication", {"fields": ["publication", "published_at", "publish_at",
                                    "unpublish_at"]}),
        ("Processing", {"fields": ["latest_job", "renditions_state", "error_type", "error_list",
                                   "duration",
                                   "aspect_ratio", "max_resolution", "track_list",
                                   "master_name", "master_size", "media_prefix"]}),
        ("Playback", {"fields": ["playback", "mp4_support", "downloads"]}),
        ("Related", {"fields": ["upload_link", "jobs_link", "audit_trail", "events_link",
                                "deliveries_link"]}),
    ]
    readonly_fields = [
        "id", "environment", "state", "created_at", "ready_at", "deleted_at", "latest_job",
        "renditions_state",
        "error_type", "error_list", "duration", "aspect_ratio", "max_resolution", "track_list",
        "master_name", "master_size", "media_prefix", "playback", "upload_link", "jobs_link",
        "audit_trail", "events_link", "deliveries_link", "publication", "published_at",
        "downloads",
    ]

    def get_queryset(self, request):
        return with_latest_job(super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.deleted_at:
            return [*self.readonly_fields, *AssetForm.Meta.fields,
                    *AssetForm.Meta.schedule_fields]
        if not self.has_publish_permission(request):  # shown, not scheduled
            return [*self.readonly_fields, *AssetForm.Meta.schedule_fields]
        return self.readonly_fields

    # Assets come from uploads (and live recordings); they are not made by hand.
    def has_add_permission(self, request) -> bool:
        return False

    # Deleting is an action: it hides the asset and removes its media, keeping its history.
    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_retry_permission(self, request) -> bool:
        return user_may(request, "retry", Asset)

    def has_remove_permission(self, request) -> bool:
        return user_may(request, "delete", Asset)

    def save_model(self, request, obj, form, change):
        actor = Actor.for_user(request.user)
        fields = {name: form.cleaned_data[name] for name in form.changed_data
                  if name in AssetForm.Meta.fields}
        if fields:
            asset_update(asset=obj, actor=actor, **fields)
        self.save_schedule(request, obj, form, actor)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        token = _may_add_playback_id.set(request.user.has_perm("media_core.add_playbackid"))
        try:
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()  # while the user's permission is known
            return response
        finally:
            _may_add_playback_id.reset(token)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        failed = (obj is not None and obj.status == Asset.Status.ERRORED
                  and self.has_retry_permission(request))
        refusal = asset_retry_refusal(obj) if failed else None
        # A button that can only fail is not offered; the operator reads why instead.
        context["can_retry"] = failed and refusal is None
        context["retry_refusal"] = refusal.detail if refusal and not obj.deleted_at else ""
        context.update(editor_context(obj), **self.publication_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_change(self, request, obj):
        if published := self.publication_response(request, obj):
            return published
        if "_retry" in request.POST and self.has_retry_permission(request):
            apply_to_each(request, [obj], retry_asset_processing, done="Retrying")
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    @admin.action(description="Retry processing", permissions=["retry"])
    def retry_processing(self, request, queryset):
        apply_to_each(request, queryset, retry_asset_processing, done="Retrying")

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

    @admin.display(description="renditions")
    def renditions_state(self, asset: Asset) -> str:
        """Whether the ladder is made: a standard input plays from its stream copy first."""
        copy_only = asset.status == Asset.Status.READY and asset.renditions_status != "ready"
        return state_label(asset.renditions_status, "playing from its stream copy; see the "
                           "latest job for its ladder" if copy_only else "")

    @admin.display(description="upload")
    def upload_link(self, asset: Asset) -> str:
        upload = getattr(asset, "upload", None)
        return link_to(upload, upload.id) if upload else "-"

    @admin.display(description="latest job")
    def latest_job(self, asset: Asset) -> str:
        job = asset.jobs.order_by("-id").first()
        if job is None:
            return "-"
        return format_html('{} {} {}, attempt {}{}',
                           job_fact(job, "progress", progress_bar(job.progress),
                                    element_id="job-progress", flags=("data-bar",)),
                           link_to(job, job.id),
                           job_status(job, with_stage=True, element_id="job-state"),
                           job_fact(job, "attempts", f"{job.attempts}/{job.max_attempts}",
                                    element_id="job-attempts"),
                           f" ({job.error_code})" if job.error_code else "")

    @admin.display(description="error messages")
    def error_list(self, asset: Asset) -> str:
        return bullet_list(asset.error_messages)

    @admin.display(description="tracks")
    def track_list(self, asset: Asset) -> str:
        return track_rows(asset.tracks) if asset.tracks else "-"

    @admin.display(description="playback")
    def playback(self, asset: Asset) -> str:
        playback_ids = list(asset.playback_ids.all())
        rows = format_html_join("", '<li><a href="{}">{}</a> ({})</li>', (
            (playback_url(p.id), playback_url(p.id),
             p.policy if p.policy == PlaybackID.Policy.PUBLIC else f"{p.policy}: needs a token")
            for p in playback_ids))
        public = [p for p in playback_ids if p.policy == PlaybackID.Policy.PUBLIC]
        poster = ""
        # Viewers' thumbnail: only there while the asset is published (else it is a 404).
        if public and asset.status == Asset.Status.READY and publication.visible(asset):
            poster = format_html('<p><img src="/v/{}/thumbnail.jpg" alt="poster" '
                                 'style="max-width: 320px"></p>', public[0].id)
        add = ""
        # Only to someone who may add one: a link that ends in 403 helps nobody.
        if not asset.deleted_at and _may_add_playback_id.get():
            add = format_html('<p><a href="{}?{}">Add a playback ID</a></p>',
                              reverse("admin:media_core_playbackid_add"),
                              urlencode({"asset": asset.id}))
        if not playback_ids:
            return format_html("<p>No playback IDs.</p>{}", add)
        return format_html("<ul>{}</ul>{}{}", rows, poster, add)

    @admin.display(description="processing jobs")
    def jobs_link(self, asset: Asset) -> str:
        count = asset.jobs.count()
        return count_link(ProcessingJob, f"{count} processing job{'' if count == 1 else 's'}",
                           asset__id__exact=asset.id)

    @admin.display(description="audit trail")
    def audit_trail(self, asset: Asset) -> str:
        return audit_trail_link(asset.id)

    @admin.display(description="events")
    def events_link(self, asset: Asset) -> str:
        return count_link(Event, "Events about this asset", object_id=asset.id)

    @admin.display(description="webhook deliveries")
    def deliveries_link(self, asset: Asset) -> str:
        return count_link(WebhookDelivery, "Deliveries of its events",
                          event__object_id=asset.id)


# --- API keys -----------------------------------------------------------------------
