"""The live stream forms of the operator console: a short create form (the stream key is
shown once, on the page that follows) and the few settings an operator changes later."""

from __future__ import annotations

from django import forms
from django.template.response import TemplateResponse

from foundation.models import Environment
from media_core.api.serializers import NewAssetSettingsSerializer

from .api.serializers import rtmp_url, srt_url
from .models import LiveStream

POLICY_CHOICES = [("public", "Public: anyone with the URL can watch"),
                  ("signed", "Signed: viewers need a signed token"),
                  ("", "None: no playback ID (add one later)")]

NAME_REQUIRED = "Give the stream a name operators will recognise."


class LiveStreamCreateForm(forms.ModelForm):
    playback_policy = forms.ChoiceField(choices=POLICY_CHOICES, initial="public",
                                        required=False, label="Playback")
    record = forms.BooleanField(
        initial=True, required=False, label="Record each run as an asset",
        help_text="The recording gets the same playback policy, and is published as the "
                  "environment's publishing setting says.")

    class Meta:
        model = LiveStream
        fields = ["name", "environment", "playback_policy", "record", "latency_mode",
                  "reconnect_window"]
        error_messages = {"name": {"required": NAME_REQUIRED}}
        help_texts = {"latency_mode": "Standard: 4 s segments. Low: 1 s segments (set the "
                                      "encoder's keyframe interval to 1 s)."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        environments = Environment.objects.order_by("name")
        self.fields["environment"].queryset = environments
        if len(environments[:2]) == 1:
            self.fields["environment"].initial = environments[0].pk
        self.fields["name"].widget.attrs.update(placeholder="Sunday service", autofocus=True)
        self.fields["reconnect_window"].widget.attrs.update(min=0, max=1800)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(NAME_REQUIRED)
        return name

    def clean_reconnect_window(self) -> float:
        value = self.cleaned_data["reconnect_window"]
        if not 0 <= value <= 1800:
            raise forms.ValidationError("Between 0 and 1800 seconds.")
        return value

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        policies = [data["playback_policy"]] if data["playback_policy"] else []
        settings = None
        if data["record"]:
            serializer = NewAssetSettingsSerializer(data={"playback_policy": policies})
            serializer.is_valid(raise_exception=True)
            settings = dict(serializer.validated_data)
        return {"environment_id": data["environment"].pk, "name": data["name"],
                "playback_policy": policies, "new_asset_settings": settings,
                "latency_mode": data["latency_mode"],
                "reconnect_window": data["reconnect_window"]}


class LiveStreamEditForm(forms.ModelForm):
    class Meta:
        model = LiveStream
        fields = ["name", "latency_mode", "reconnect_window", "passthrough"]
        error_messages = {"name": {"required": NAME_REQUIRED}}

    clean_name = LiveStreamCreateForm.clean_name
    clean_reconnect_window = LiveStreamCreateForm.clean_reconnect_window


def key_once_response(request, admin, stream: LiveStream, key: str) -> TemplateResponse:
    """The encoder settings with the key, in this response only: never through the session
    or a cookie, and not cached."""
    response = TemplateResponse(request, "admin/live/livestream/key_once.html", {
        **admin.admin_site.each_context(request),
        "title": f"Copy the stream key of {stream.name} now",
        "opts": LiveStream._meta,
        "stream": stream,
        "key": key,
        "rtmp_url": rtmp_url(stream),
        "srt_url": srt_url(stream),
    })
    response["Cache-Control"] = "no-store"
    return response
