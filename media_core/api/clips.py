"""POST /api/v1/assets/{id}/clips: a new asset cut from a ready one."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers, status

from foundation.api.views import ApiView
from media_core import selectors
from media_core.services.clips import clip_create

from .serializers import AssetSerializer, NewAssetSettingsSerializer
from .views import _asset_response


@extend_schema_serializer(examples=[OpenApiExample(
    "The demo, as a highlight of its own", request_only=True,
    value={"start": 95.5, "end": 130.0, "title": "Launch: the demo",
           "playback_policy": ["public"], "passthrough": "highlight-17"},
)])
class ClipCreateSerializer(NewAssetSettingsSerializer):
    start = serializers.FloatField(min_value=0, max_value=24 * 3600,
                                   help_text="Seconds into the source where the clip starts.")
    end = serializers.FloatField(min_value=0, max_value=24 * 3600,
                                 help_text="Seconds into the source where the clip ends "
                                           "(not included); at most its duration.")


class AssetClipView(ApiView):
    required_scopes = {"POST": "assets:write"}
    serializer_class = AssetSerializer
    problems = {"POST": {
        "409": "The source asset is not ready (still preparing, or errored).",
        "422": "The range is not within the source: `end` not after `start`, past the "
               "source's end, or shorter than 0.5 s (`clip_range_invalid`).",
    }}

    @extend_schema(operation_id="create_clip", summary="Cut a clip into a new asset",
                   request=ClipCreateSerializer, responses={201: AssetSerializer},
                   description="A new asset (`preparing`, `source_asset_id` set) of "
                               "`[start, end)` of a ready asset, live recordings included, "
                               "cut to the frame; it becomes `ready` with `duration` = "
                               "end - start. It has its own title, playback IDs, "
                               "publication and downloads; the source is not changed.")
    def post(self, request, asset_id: str):
        source = selectors.asset_get(environment_id=self.environment_id, asset_id=asset_id)
        params = ClipCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        settings = dict(params.validated_data)
        start, end = settings.pop("start"), settings.pop("end")
        clip = clip_create(source=source, actor=self.actor, start=start, end=end,
                           settings=settings)
        return _asset_response(clip.id, self.environment_id, status.HTTP_201_CREATED)
