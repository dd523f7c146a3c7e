"""Uploads and processing jobs: what came in and what the workers did with it."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.html import format_html

from foundation.admin import (
    ReadOnlyAdmin,
    apply_to_each,
    audit_trail_link,
    link_to,
    moment,
    percent,
    pretty_json,
    progress_bar,
    short_id,
    small_line,
    state_label,
    time_column,
    titled_link,
    user_may,
    with_tooltip,
)
from foundation.context import Actor
from foundation.errors import InvalidTransition
from foundation.models import AuditEntry
from media_core.models import (
    Asset,
    ProcessingJob,
    Upload,
)
from media_core.services.uploads import upload_cancel

from .assets import count_link, retry_asset_processing

STUCK_QUEUED = timedelta(minutes=10)


def _cancel(upload: Upload, actor: Actor) -> None:
    if not Upload.TRANSITIONS.allowed(upload.status, Upload.Status.CANCELLED):
        waiting = " or ".join(Upload.TRANSITIONS.sources_of(Upload.Status.CANCELLED))
        raise InvalidTransition(
            f"Only {waiting} uploads can be cancelled; this one is {upload.status}.")
    upload_cancel(upload=upload, actor=actor)



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
    list_display = ["id_shown", "state_in_list", "asset_shown", "size", "environment",
                    "created"]
    list_filter = [UploadAttentionFilter, "status", "environment"]
    list_select_related = ["environment", "asset"]
    search_fields = ["=id", "=asset__id", "cors_origin"]
    actions = ["cancel"]
    fields = ["id", "environment", "state", "asset_link", "settings", "cors_origin", "timeout",
              "expires_at", "size_bytes", "error_type", "error_message", "created_at",
              "updated_at", "audit_trail"]
    readonly_fields = fields
    created = time_column("created_at", "created")

    def has_cancel_permission(self, request) -> bool:
        return user_may(request, "change", Upload)

    @admin.action(description="Cancel upload", permissions=["cancel"])
    def cancel(self, request, queryset):
        apply_to_each(request, queryset, _cancel, done="Cancelled")

    @admin.display(description="status", ordering="status")
    def state(self, upload: Upload) -> str:
        expired = upload.status == Upload.Status.WAITING and upload.expires_at < timezone.now()
        return state_label(upload.status, "expired" if expired else "")

    @admin.display(description="upload", ordering="id")
    def id_shown(self, upload: Upload) -> str:
        return short_id(upload.id)

    @admin.display(description="status", ordering="status")
    def state_in_list(self, upload: Upload) -> str:
        """The status; while waiting, until when the upload URL takes a file."""
        if upload.status != Upload.Status.WAITING:
            return state_label(upload.status)
        if upload.expires_at < timezone.now():
            return state_label(upload.status, "expired")
        return format_html("{}{}", state_label(upload.status),
                           small_line(format_html("until {}", moment(upload.expires_at))))

    @admin.display(description="asset", ordering="asset__title")
    def asset_shown(self, upload: Upload) -> str:
        if upload.asset:
            return titled_link(upload.asset, upload.asset.title or "Untitled")
        title = (upload.new_asset_settings or {}).get("title")
        if not title:
            return "-"
        return format_html('<span class="quiet" title="{}">{}</span>',
                           "Made when the file arrives", title)

    @admin.display(description="size", ordering="size_bytes")
    def size(self, upload: Upload) -> str:
        if upload.size_bytes is None:
            return "-"
        return with_tooltip(filesizeformat(upload.size_bytes), f"{upload.size_bytes:,} bytes")

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
    list_display = ["id_shown", "asset_shown", "state_in_list", "attempts_of", "created",
                    "finished"]
    list_filter = [JobStuckFilter, "status", "stage", "error_code"]
    list_select_related = ["asset"]
    search_fields = ["=id", "=asset__id", "=request_id", "worker"]
    actions = ["retry_asset"]
    fields = ["id", "asset_link", "state", "attempts_of", "progress", "stage", "worker",
              "lease_expires_at", "output_prefix", "error_code", "error_message", "stderr",
              "request_link", "created_at", "started_at", "finished_at", "updated_at", "audit_trail"]
    readonly_fields = fields
    created = time_column("created_at", "created")
    finished = time_column("finished_at", "finished")

    def has_retry_permission(self, request) -> bool:
        return user_may(request, "retry", Asset)

    @admin.action(description="Retry the asset", permissions=["retry"])
    def retry_asset(self, request, queryset):
        assets = Asset.objects.filter(jobs__in=queryset).distinct()
        apply_to_each(request, assets, retry_asset_processing, done="Retrying")

    @admin.display(description="job", ordering="id")
    def id_shown(self, job: ProcessingJob) -> str:
        return short_id(job.id)

    @admin.display(description="asset", ordering="asset")
    def asset_shown(self, job: ProcessingJob) -> str:
        return titled_link(job.asset, job.asset.title or "Untitled")

    @admin.display(description="status", ordering="status")
    def state_in_list(self, job: ProcessingJob) -> str:
        """The status over what it means now: the stage and progress of a job under way,
        the error code of a failed one (the worker is on the job's page)."""
        if job.status == ProcessingJob.Status.FAILED:
            detail = job.error_code
        elif job.status == ProcessingJob.Status.RUNNING:
            detail = " · ".join(part for part in (job.stage, percent(job.progress)) if part)
        else:
            detail = ""
        return format_html("{}{}", state_label(job.status), small_line(detail))

    @admin.display(description="asset", ordering="asset")
    def asset_link(self, job: ProcessingJob) -> str:
        return link_to(job.asset)

    @admin.display(description="status", ordering="status")
    def state(self, job: ProcessingJob) -> str:
        return state_label(job.status)

    @admin.display(description="attempts")
    def attempts_of(self, job: ProcessingJob) -> str:
        return f"{job.attempts}/{job.max_attempts}"

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
        return count_link(AuditEntry, job.request_id, request_id=job.request_id)

    @admin.display(description="audit trail")
    def audit_trail(self, job: ProcessingJob) -> str:
        return audit_trail_link(job.id)


# --- playback IDs -------------------------------------------------------------------
