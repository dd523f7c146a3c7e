"""The upload page, and the live progress of an asset's processing.

An editor's browser asks for an upload URL (the same service the API uses, with the
signed-in user as the actor) and then sends the file to it itself, in tus chunks: a
dropped connection costs one chunk, and the upload continues from the offset the
server reports. The file never passes through the admin's own views.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_GET, require_http_methods

from foundation.context import Actor
from foundation.errors import ValidationFailed
from foundation.models import Environment
from media_core.models import Asset, PlaybackID, Upload
from media_core.services.uploads import upload_create
from media_core.upload_urls import upload_url

EDITOR_UPLOAD_SECONDS = 24 * 3600


class UploadForm(forms.Form):
    """The new asset's settings; the same limits as the API's new_asset_settings."""

    environment = forms.ModelChoiceField(queryset=Environment.objects.all())
    title = forms.CharField(max_length=512, required=False)
    playback_policy = forms.MultipleChoiceField(
        choices=PlaybackID.Policy.choices, required=False, initial=[PlaybackID.Policy.PUBLIC],
        widget=forms.CheckboxSelectMultiple,
        help_text="One playback ID is made per policy; signed ones need a token to play.")
    max_duration_seconds = forms.FloatField(
        label="Max duration (seconds)", required=False, min_value=1, max_value=24 * 3600,
        help_text="Optional: a longer video is refused. Without it, the environment's "
                  "limit applies (12 hours unless set on the environment).")

    draft = forms.BooleanField(
        label="Keep as a draft", required=False,
        help_text="It plays nowhere until someone publishes it from its page. Unticked, the "
                  "environment decides: published when ready (auto) or a draft (review).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        environments = list(Environment.objects.all()[:2])
        if len(environments) == 1:
            self.fields["environment"].initial = environments[0].pk

    def new_asset_settings(self) -> dict:
        data = self.cleaned_data
        chosen = {"title": data["title"], "playback_policy": data["playback_policy"]}
        if data["max_duration_seconds"] is not None:
            chosen["max_duration_seconds"] = data["max_duration_seconds"]
        if data["draft"]:
            chosen["publish"] = False
        return chosen


def _asset_url(asset_id: str) -> str:
    return reverse("admin:media_core_asset_change", args=[quote(asset_id)])


class UploadPageMixin:
    """Adds the upload page, and the JSON its scripts poll, to the asset admin."""

    upload_template = "admin/media_core/asset/upload.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("upload/", wrap(self.upload_view), name="media_core_asset_upload"),
            path("upload/<str:upload_id>/status/", wrap(self.upload_status_view),
                 name="media_core_asset_upload_status"),
            path("<path:object_id>/progress/", wrap(self.progress_view),
                 name="media_core_asset_progress"),
            *super().get_urls(),
        ]

    def has_upload_permission(self, request: HttpRequest) -> bool:
        return self.has_change_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_upload": self.has_upload_permission(request)}
        return super().changelist_view(request, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.status == Asset.Status.PREPARING and not obj.deleted_at:
            context["progress_url"] = reverse("admin:media_core_asset_progress",
                                              args=[quote(obj.pk)])
        return super().render_change_form(request, context, add, change, form_url, obj)

    @method_decorator(require_http_methods(["GET", "POST"]))
    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_upload_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._create_upload(request)
        return TemplateResponse(request, self.upload_template, {
            **self.admin_site.each_context(request),
            "title": "Upload a video",
            "opts": self.opts,
            "form": UploadForm(),
            "chunk_size": settings.ADMIN_UPLOAD_CHUNK_BYTES,
        })

    def _create_upload(self, request: HttpRequest) -> JsonResponse:
        form = UploadForm(request.POST)
        if not form.is_valid():
            return JsonResponse({"errors": {field: [e["message"] for e in errors] for field, errors
                                            in form.errors.get_json_data().items()}}, status=400)
        # The CSRF check has already matched Origin to this site; the upload URL may live
        # on another host (PUBLIC_BASE_URL), which must then let this page send to it.
        try:
            upload = upload_create(environment=form.cleaned_data["environment"],
                                   actor=Actor.for_user(request.user),
                                   new_asset_settings=form.new_asset_settings(),
                                   cors_origin=request.headers.get("Origin", ""),
                                   # An editor's big file on a slow line may take hours.
                                   timeout=EDITOR_UPLOAD_SECONDS)
        except ValidationFailed as exc:
            # The service names the API's fields; this form's are the settings themselves.
            errors = {name.removeprefix("new_asset_settings."): messages
                      for name, messages in (exc.errors or {"__all__": [exc.detail]}).items()}
            return JsonResponse({"errors": errors}, status=400)
        return JsonResponse({
            "upload_id": upload.id,
            "url": upload_url(upload),
            "status_url": reverse("admin:media_core_asset_upload_status", args=[upload.id]),
        }, status=201)

    @method_decorator(require_GET)
    def upload_status_view(self, request: HttpRequest, upload_id: str) -> JsonResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        upload = get_object_or_404(Upload, pk=upload_id)
        return JsonResponse({
            "status": upload.status,
            "offset": upload.offset,
            "length": upload.length,
            "asset_id": upload.asset_id,
            "asset_url": _asset_url(upload.asset_id) if upload.asset_id else None,
            "error": upload.error_message,
        })

    @method_decorator(require_GET)
    def progress_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        asset = get_object_or_404(Asset, pk=unquote(object_id))
        job = asset.jobs.order_by("-id").first()
        return JsonResponse({
            "status": asset.status,
            "deleted": asset.deleted_at is not None,
            "job_id": job.id if job else None,
            "progress": job.progress if job else None,
            "stage": job.stage if job else "",
            "job_status": job.status if job else None,
            "attempts": job.attempts if job else 0,
            "max_attempts": job.max_attempts if job else 0,
        })
