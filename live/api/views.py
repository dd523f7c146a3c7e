from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from foundation.api.views import ApiView
from live import selectors, services
from media_core.api.serializers import PlaybackIdCreateSerializer, PlaybackIdSerializer

from .serializers import (
    LiveStreamCreateSerializer,
    LiveStreamSerializer,
    LiveStreamUpdateSerializer,
    SimulcastTargetCreateSerializer,
    SimulcastTargetSerializer,
    live_stream_data,
)

KEY_NOTE = ("The response carries `stream_key` and `srt_url`: secrets, shown here and after "
            "reset-stream-key only.")


def _stream_response(stream_id: str, environment_id: str, status_code: int = 200,
                     stream_key: str | None = None) -> Response:
    stream = selectors.live_stream_get(environment_id=environment_id, stream_id=stream_id)
    return Response(live_stream_data(stream, stream_key=stream_key), status=status_code)


class LiveStreamListView(ApiView):
    required_scopes = {"GET": "live:read", "POST": "live:write"}
    serializer_class = LiveStreamSerializer
    one_time_secrets = ("stream_key", "srt_url")

    @extend_schema(operation_id="list_live_streams",
                   summary="List live streams", responses=LiveStreamSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(selectors.live_stream_list(environment_id=self.environment_id))
        page = selectors.with_api_relations(list(page))
        return self.get_paginated_response(LiveStreamSerializer(page, many=True).data)

    @extend_schema(operation_id="create_live_stream",
                   summary="Create a live stream", request=LiveStreamCreateSerializer,
                   responses={201: LiveStreamSerializer},
                   description="Encoders publish RTMP to `rtmp_url` with `stream_key` as the "
                               "stream key, or SRT to `srt_url`. " + KEY_NOTE)
    def post(self, request):
        params = LiveStreamCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        stream, key = services.live_stream_create(environment_id=self.environment_id,
                                                  actor=self.actor, **params.validated_data)
        return _stream_response(stream.id, self.environment_id, status.HTTP_201_CREATED, key)


class LiveStreamDetailView(ApiView):
    required_scopes = {"GET": "live:read", "PATCH": "live:write", "DELETE": "live:write"}
    serializer_class = LiveStreamSerializer

    @extend_schema(operation_id="get_live_stream", summary="Get a live stream, with its health")
    def get(self, request, stream_id: str):
        return _stream_response(stream_id, self.environment_id)

    @extend_schema(operation_id="update_live_stream",
                   summary="Update a live stream", request=LiveStreamUpdateSerializer,
                   description="Changes apply from the next publish.")
    def patch(self, request, stream_id: str):
        stream = selectors.live_stream_get(environment_id=self.environment_id, stream_id=stream_id)
        params = LiveStreamUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.live_stream_update(stream=stream, actor=self.actor, **params.validated_data)
        return _stream_response(stream_id, self.environment_id)

    @extend_schema(operation_id="delete_live_stream",
                   summary="Delete a live stream", responses={204: None},
                   description="A connected encoder is disconnected; recordings already made "
                               "stay as assets.")
    def delete(self, request, stream_id: str):
        stream = selectors.live_stream_get(environment_id=self.environment_id, stream_id=stream_id)
        services.live_stream_delete(stream=stream, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _StreamAction(ApiView):
    required_scopes = {"POST": "live:write"}
    serializer_class = LiveStreamSerializer
    one_time_secrets = ("stream_key", "srt_url")
    action = ""

    def run(self, stream):
        raise NotImplementedError

    def post(self, request, stream_id: str):
        stream = selectors.live_stream_get(environment_id=self.environment_id, stream_id=stream_id)
        key = self.run(stream)
        return _stream_response(stream_id, self.environment_id, stream_key=key)


class LiveStreamDisableView(_StreamAction):
    @extend_schema(operation_id="disable_live_stream",
                   summary="Disable a live stream", request=None,
                   description="Publishing is refused; a connected encoder is disconnected "
                               "within a few seconds and the run ends at once.")
    def post(self, request, stream_id: str):
        return super().post(request, stream_id)

    def run(self, stream):
        services.live_stream_disable(stream=stream, actor=self.actor)


class LiveStreamEnableView(_StreamAction):
    @extend_schema(operation_id="enable_live_stream",
                   summary="Enable a disabled live stream", request=None)
    def post(self, request, stream_id: str):
        return super().post(request, stream_id)

    def run(self, stream):
        services.live_stream_enable(stream=stream, actor=self.actor)


class LiveStreamCompleteView(_StreamAction):
    @extend_schema(operation_id="complete_live_stream",
                   summary="End the current run now", request=None,
                   description="Disconnects the encoder and makes the stream idle without "
                               "waiting for the reconnect window; the recording is processed. "
                               "409 unless the stream is active or connected.")
    def post(self, request, stream_id: str):
        return super().post(request, stream_id)

    def run(self, stream):
        services.live_stream_complete(stream=stream, actor=self.actor)


class LiveStreamResetKeyView(_StreamAction):
    @extend_schema(operation_id="reset_live_stream_key",
                   summary="Reset the stream key and SRT passphrase", request=None,
                   description="The old key stops working and a connected encoder is "
                               "disconnected. " + KEY_NOTE)
    def post(self, request, stream_id: str):
        return super().post(request, stream_id)

    def run(self, stream):
        _, key = services.live_stream_reset_key(stream=stream, actor=self.actor)
        return key


class LivePlaybackIdListView(ApiView):
    required_scopes = {"POST": "live:write"}
    serializer_class = PlaybackIdSerializer

    @extend_schema(operation_id="create_live_stream_playback_id",
                   summary="Add a playback ID to a live stream", request=PlaybackIdCreateSerializer,
                   responses={201: PlaybackIdSerializer})
    def post(self, request, stream_id: str):
        stream = selectors.live_stream_get(environment_id=self.environment_id, stream_id=stream_id)
        params = PlaybackIdCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        playback_id = services.live_playback_id_create(stream=stream, actor=self.actor,
                                                       policy=params.validated_data["policy"])
        return Response(PlaybackIdSerializer(playback_id).data, status=status.HTTP_201_CREATED)


class LivePlaybackIdDetailView(ApiView):
    required_scopes = {"DELETE": "live:write"}
    serializer_class = PlaybackIdSerializer

    @extend_schema(operation_id="delete_live_stream_playback_id",
                   summary="Delete a live stream's playback ID", responses={204: None})
    def delete(self, request, stream_id: str, playback_id: str):
        stream = selectors.live_stream_get(environment_id=self.environment_id, stream_id=stream_id)
        found = selectors.live_playback_id_get(stream=stream, playback_id=playback_id)
        services.live_playback_id_delete(playback_id=found, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SimulcastTargetListView(ApiView):
    required_scopes = {"GET": "live:read", "POST": "live:write"}
    serializer_class = SimulcastTargetSerializer

    @extend_schema(operation_id="list_simulcast_targets",
                   summary="List a live stream's simulcast targets",
                   responses=SimulcastTargetSerializer(many=True))
    def get(self, request, stream_id: str):
        page = self.paginate_queryset(selectors.simulcast_target_list(
            environment_id=self.environment_id, stream_id=stream_id))
        return self.get_paginated_response(SimulcastTargetSerializer(page, many=True).data)

    def prepare(self, request):
        if request.method == "POST":
            params = SimulcastTargetCreateSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            # Resolving the host is network I/O: here, before the request's transaction.
            services.check_simulcast_url(params.validated_data["url"])
            self.params = params

    @extend_schema(operation_id="create_simulcast_target",
                   summary="Restream a live stream to another RTMP service",
                   request=SimulcastTargetCreateSerializer,
                   responses={201: SimulcastTargetSerializer},
                   description="The ingest relays the stream (without re-encoding) to "
                               "`url`/`stream_key` while the stream is live. Loopback, private "
                               "and link-local addresses are refused with 400 `target_refused`.")
    def post(self, request, stream_id: str):
        stream = selectors.live_stream_get(environment_id=self.environment_id, stream_id=stream_id)
        target = services.simulcast_target_create(stream=stream, actor=self.actor,
                                                  **self.params.validated_data)
        return Response(SimulcastTargetSerializer(target).data, status=status.HTTP_201_CREATED)


class SimulcastTargetDetailView(ApiView):
    required_scopes = {"GET": "live:read", "DELETE": "live:write"}
    serializer_class = SimulcastTargetSerializer

    @extend_schema(operation_id="get_simulcast_target", summary="Get a simulcast target")
    def get(self, request, stream_id: str, target_id: str):
        return Response(SimulcastTargetSerializer(selectors.simulcast_target_get(
            environment_id=self.environment_id, stream_id=stream_id, target_id=target_id)).data)

    @extend_schema(operation_id="delete_simulcast_target",
                   summary="Delete a simulcast target", responses={204: None},
                   description="A relay running to it stops within a few seconds.")
    def delete(self, request, stream_id: str, target_id: str):
        target = selectors.simulcast_target_get(environment_id=self.environment_id,
                                                stream_id=stream_id, target_id=target_id)
        services.simulcast_target_delete(target=target, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
