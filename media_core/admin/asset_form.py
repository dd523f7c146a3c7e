"""The asset page's form: what editors write, and when it is published."""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.utils import timezone

from media_core.api.serializers import AssetMetadataSerializer
from media_core.models import Asset
from media_core.services.assets import METADATA_FIELDS


def _words(errors) -> str:
    """A serializer's errors (nested lists and dicts) as one sentence."""
    if isinstance(errors, dict):
        return " ".join(_words(value) for value in errors.values())
    if isinstance(errors, list):
        return " ".join(_words(value) for value in errors if value)
    return str(errors)


class TagsField(forms.CharField):
    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return [tag.strip() for tag in (value or "").split(",") if tag.strip()]


class PairsField(forms.CharField):
    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{key}: {text}" for key, text in value.items())
        return value

    def to_python(self, value):
        pairs = {}
        for number, line in enumerate((value or "").splitlines(), 1):
            if not line.strip():
                continue
            key, colon, text = line.partition(":")
            if not colon or not key.strip():
                raise forms.ValidationError(f"Line {number} is not key: value.")
            pairs[key.strip()] = text.strip()
        return pairs


_START = re.compile(r"^\s*(?:(\d+):)?(?:(\d{1,2}):)?(\d+(?:\.\d+)?)\s+(.+)$")


def _clock(seconds: float) -> str:
    whole, fraction = int(seconds), seconds - int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return text + (f"{fraction:.3f}"[1:].rstrip("0") if fraction else "")


class ChaptersField(forms.CharField):
    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(f"{_clock(c['start'])} {c['title']}" for c in value)
        return value

    def to_python(self, value):
        chapters = []
        for number, line in enumerate((value or "").splitlines(), 1):
            if not line.strip():
                continue
            match = _START.match(line)
            if not match:
                raise forms.ValidationError(
                    f"Line {number}: write the start (1:35, 1:02:05 or seconds), then the title.")
            first, second, last, title = match.groups()
            parts = [float(p) for p in (first, second, last) if p is not None]
            start = 0.0
            for part in parts:
                start = start * 60 + part
            chapters.append({"start": start, "title": title.strip()})
        return chapters


class AssetForm(forms.ModelForm):
    """The editable fields, with tags, metadata and chapters as lines of text, and the
    publication times an editor schedules (saved through the publication service, never
    written directly). Checked by the API's own rules (AssetMetadataSerializer)."""

    class Meta:
        model = Asset
        fields = ["title", "passthrough", "description", "tags", "metadata", "chapters",
                  "poster_time", "mp4_support"]
        labels = {"mp4_support": "MP4 downloads"}
        schedule_fields = ["publish_at", "unpublish_at"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4, "cols": 80})}

    tags = TagsField(required=False, help_text="Comma-separated, e.g. keynote, 2030.")
    metadata = PairsField(required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                          help_text="One key: value per line.")
    chapters = ChaptersField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="One chapter per line: its start, then its title, e.g. 1:35 Demo.")

    publish_at = forms.SplitDateTimeField(
        required=False, widget=admin.widgets.AdminSplitDateTime,
        label="Publish at", help_text="Schedule publication: a time to come. Once it has "
        "come and the asset is ready, its playback IDs play.")
    unpublish_at = forms.SplitDateTimeField(
        required=False, widget=admin.widgets.AdminSplitDateTime,
        label="Unpublish at", help_text="Schedule the end: a time to come.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.Meta.schedule_fields:
            self.initial.setdefault(name, getattr(self.instance, name))

    def clean(self):
        cleaned = super().clean()
        written = {name: cleaned[name] for name in METADATA_FIELDS
                   if name in self.changed_data and name in cleaned}
        checked = AssetMetadataSerializer(data=written)
        if not checked.is_valid():
            for name, errors in checked.errors.items():
                self.add_error(name if name in self.fields else None, _words(errors))
        else:
            cleaned.update(checked.validated_data)
        now = timezone.now()
        for name in self.Meta.schedule_fields:
            value = cleaned.get(name)
            if name in self.changed_data and value is not None and value <= now:
                self.add_error(name, "Choose a time to come; to act now, use the Publish "
                                     "or Unpublish action.")
        return cleaned


