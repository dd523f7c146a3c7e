import orjson
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from foundation.api import conditional
from foundation.api.pagination import decode_cursor, encode_cursor, parse_limit
from foundation.api.views import ApiView
from foundation.errors import DomainError, NotFound, ValidationFailed
from foundation.ids import looks_like
from media_core import documents, selectors
from media_core.services import assets as asset_services
from media_core.services import publication
from media_core.services import uploads as upload_services

from .serializers import (
    AssetCreateSerializer,
    AssetFiltersSerializer,
    AssetSerializer,
    AssetUpdateSerializer,
    PlaybackIdCreateSerializer,
    PlaybackIdSerializer,
    PublicationSerializer,
    UploadCreateSerializer,
    UploadSerializer,
)


def _asset_document(asset_id: str, environment_id: str, found: dict | None = None):
    # Not an asset id at all: nothing to look up, in the cache or the database.
    document = (documents.asset_documents(environment_id, [asset_id], found).get(asset_id)
                if looks_like(asset_id, "ast") else None)
    if document is None:
        raise NotFound(f"No asset {asset_id!r} in this environment.")
    return document


def _asset_response(asset_id: str, environment_id: str, status_code: int = 200) -> Response:
    """The asset's document (media_core/documents.py), the data of its webhooks too. As
    DRF data, so that negotiation (`Accept: application/json; indent=2`) still applies:
    rendered compact, it is the document's bytes again."""
    body = _asset_document(asset_id, environment_id).body
    return Response(orjson.loads(body), status=status_code)


# The list's filter parameters (a serializer builds its fields anew for each instance).
_FILTER_NAMES = tuple(AssetFiltersSerializer().fields)


def _asset_page(environment_id: str, params) -> bytes:
    """A page of the asset list, newest first, as CursorPagination writes it: the page's
    ids in one query, their documents built once per change."""
    limit = parse_limit(params.get("limit"))
    cursor = params.get("cursor")
    filters = None
    if any(name in params for name in _FILTER_NAMES):
        checked = AssetFiltersSerializer(data=params)
        if not checked.is_valid():
            raise ValidationFailed("A filter of the asset list is not valid.",
                                   errors=checked.errors)
        filters = {name: value for name, value in checked.validated_data.items()
                   if value not in ("", None)}
    page = selectors.asset_page_ids(environment_id=environment_id, limit=limit + 1,
                                    before=decode_cursor(cursor) if cursor else None,
                                    filters=filters)
    next_cursor = encode_cursor(page[limit - 1]) if len(page) > limit else None
    page = page[:limit]
    found = documents.asset_documents(environment_id, page)
    # An asset deleted between the two reads is left out, as a read a moment later would.
    data = b",".join(found[asset_id].body for asset_id in page if asset_id in found)
    cursor_json = b"null" if next_cursor is None else b'"' + next_cursor.encode() + b'"'
    return b'{"data":[' + data + b'],"next_cursor":' + cursor_json + b"}"


class UploadListView(ApiView):
    required_scopes = {"GET": "uploads:write", "POST": "uploads:write"}
    # POST starts new media: it spends the key's upload budget too.
    throttle_scope = "uploads"
    serializer_class = UploadSerializer

    @extend_schema(operation_id="list_uploads",
                   summary="List uploads", responses=UploadSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(selectors.upload_list(environment_id=self.environment_id))
        return self.get_paginated_response(UploadSerializer(page, many=True).data)

    @extend_schema(operation_id="create_upload",
                   summary="Create a direct upload", request=UploadCreateSerializer,
                   responses={201: UploadSerializer},
                   description="Returns a short-lived `url` that accepts the file by one PUT, "
                               "with no API key.")
    def post(self, request):
        params = UploadCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = upload_services.upload_create(
            environment=request.auth.environment, actor=self.actor, **params.validated_data)
        return Response(UploadSerializer(upload).data, status=status.HTTP_201_CREATED)


class UploadDetailView(ApiView):
    required_scopes = {"GET": "uploads:write"}
    serializer_class = UploadSerializer

    @extend_schema(operation_id="get_upload", summary="Get an upload")
    def get(self, request, upload_id: str):
        upload = selectors.upload_get(environment_id=self.environment_id, upload_id=upload_id)
        return Response(UploadSerializer(upload).data)


class UploadCancelView(ApiView):
    required_scopes = {"PUT": "uploads:write"}
    serializer_class = UploadSerializer

    @extend_schema(operation_id="cancel_upload", summary="Cancel an upload", request=None,
                   description="Only a `waiting` upload can be cancelled (409 otherwise).")
    def put(self, request, upload_id: str):
        upload = selectors.upload_get(environment_id=self.environment_id, upload_id=upload_id)
        upload = upload_services.upload_cancel(upload=upload, actor=self.actor)
        return Response(UploadSerializer(upload).data)


class AssetListView(ApiView):
    required_scopes = {"GET": "assets:read", "POST": "assets:write"}
    # POST starts new media: it spends the key's upload budget too.
    throttle_scope = "uploads"
    serializer_class = AssetSerializer

    @extend_schema(operation_id="list_assets", parameters=[AssetFiltersSerializer],
                   summary="List assets, newest first, optionally filtered",
                   responses=AssetSerializer(many=True))
    def get(self, request):
        return Response(orjson.loads(_asset_page(self.environment_id, request.query_params)))

    def fast_read(self, request, environment_id: str, found: dict):
        try:
            body = _asset_page(environment_id, request.GET)
        except DomainError:
            return None  # a bad limit or cursor: the usual path says which
        return body, conditional.etag_of(body)

    def prepare(self, request):
        if request.method == "POST":
            params = AssetCreateSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            # Resolving the host is network I/O: here, before the request's transaction.
            asset_services.asset_check_input(params.validated_data["input"])
            self.params = params

    @extend_schema(operation_id="create_asset",
                   summary="Create an asset from a URL", request=AssetCreateSerializer,
                   responses={201: AssetSerializer},
                   description="The server fetches `input` (http or https, public addresses "
                               "only) and processes it; the asset is `preparing` until then. "
                               "A URL that points to a private or local address is refused "
                               "with 400 `input_refused`.")
    def post(self, request):
        settings = dict(self.params.validated_data)
        url = settings.pop("input")
        asset = asset_services.asset_create_from_url(
            environment_id=self.environment_id, actor=self.actor, url=url, settings=settings)
        return _asset_response(asset.id, self.environment_id, status.HTTP_201_CREATED)


class AssetDetailView(ApiView):
    required_scopes = {"GET": "assets:read", "PATCH": "assets:write", "DELETE": "assets:write"}
    serializer_class = AssetSerializer

    @extend_schema(operation_id="get_asset", summary="Get an asset")
    def get(self, request, asset_id: str):
        return _asset_response(asset_id, self.environment_id)

    def fast_read_keys(self, asset_id: str) -> list[str]:
        return [documents.version_key(asset_id)] if looks_like(asset_id, "ast") else []

    def fast_read(self, request, environment_id: str, found: dict, asset_id: str):
        try:
            document = _asset_document(asset_id, environment_id, found)
        except NotFound:
            return None
        return document.body, document.etag

    @extend_schema(operation_id="update_asset",
                   summary="Update an asset's title or passthrough", request=AssetUpdateSerializer)
    def patch(self, request, asset_id: str):
        asset = selectors.asset_get(environment_id=self.environment_id, asset_id=asset_id)
        params = AssetUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        asset_services.asset_update(asset=asset, actor=self.actor, **params.validated_data)
        return _asset_response(asset_id, self.environment_id)

    @extend_schema(operation_id="delete_asset",
                   summary="Delete an asset and its media", responses={204: None})
    def delete(self, request, asset_id: str):
        asset = selectors.asset_get(environment_id=self.environment_id, asset_id=asset_id)
        asset_services.asset_delete(asset=asset, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AssetRetryView(ApiView):
    required_scopes = {"POST": "assets:write"}
    serializer_class = AssetSerializer

    @extend_schema(operation_id="retry_asset",
                   summary="Process an errored asset again", request=None,
                   responses={202: AssetSerializer},
                   description="Only an `errored` asset can be retried (409 otherwise).")
    def post(self, request, asset_id: str):
        asset = selectors.asset_get(environment_id=self.environment_id, asset_id=asset_id)
        asset_services.asset_retry(asset=asset, actor=self.actor)
        return _asset_response(asset_id, self.environment_id, status.HTTP_202_ACCEPTED)


class _PublicationView(ApiView):
    """POST {"at": optional time}: one publication service, named by the subclass."""

    required_scopes = {"POST": "assets:write"}
    serializer_class = AssetSerializer
    change = None

    def post(self, request, asset_id: str):
        asset = selectors.asset_get(environment_id=self.environment_id, asset_id=asset_id)
        params = PublicationSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        type(self).change(asset=asset, actor=self.actor, at=params.validated_data.get("at"))
        return _asset_response(asset_id, self.environment_id)


@extend_schema_view(post=extend_schema(
    operation_id="publish_asset", summary="Publish an asset, now or at a time",
    request=PublicationSerializer, responses={200: AssetSerializer},
    description="Now: the asset must be `ready` (409 `asset_not_ready` otherwise). With a "
                "future `at`: `scheduled`, published at that time once it is ready. Until it "
                "is published its playback IDs answer 404."))
class AssetPublishView(_PublicationView):
    change = staticmethod(publication.asset_publish)


@extend_schema_view(post=extend_schema(
    operation_id="unpublish_asset", summary="Unpublish an asset, now or at a time",
    request=PublicationSerializer, responses={200: AssetSerializer},
    description="Now: `unpublished`, its playback IDs answer 404 at once. With a future "
                "`at`: it stops playing at that time. A draft or unpublished asset: 409."))
class AssetUnpublishView(_PublicationView):
    change = staticmethod(publication.asset_unpublish)


class PlaybackIdListView(ApiView):
    required_scopes = {"POST": "playback:write"}
    serializer_class = PlaybackIdSerializer

    @extend_schema(operation_id="create_asset_playback_id",
                   summary="Add a playback ID to an asset", request=PlaybackIdCreateSerializer,
                   responses={201: PlaybackIdSerializer})
    def post(self, request, asset_id: str):
        asset = selectors.asset_get(environment_id=self.environment_id, asset_id=asset_id)
        params = PlaybackIdCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        playback_id = asset_services.playback_id_create(asset=asset, actor=self.actor,
                                                        policy=params.validated_data["policy"])
        return Response(PlaybackIdSerializer(playback_id).data, status=status.HTTP_201_CREATED)


class PlaybackIdDetailView(ApiView):
    required_scopes = {"GET": "assets:read", "DELETE": "playback:write"}
    serializer_class = PlaybackIdSerializer

    @extend_schema(operation_id="get_asset_playback_id", summary="Get a playback ID")
    def get(self, request, asset_id: str, playback_id: str):
        found = selectors.playback_id_get(environment_id=self.environment_id, asset_id=asset_id,
                                          playback_id=playback_id)
        return Response(PlaybackIdSerializer(found).data)

    @extend_schema(operation_id="delete_asset_playback_id",
                   summary="Delete a playback ID; its playback stops at once", responses={204: None})
    def delete(self, request, asset_id: str, playback_id: str):
        found = selectors.playback_id_get(environment_id=self.environment_id, asset_id=asset_id,
                                          playback_id=playback_id)
        asset_services.playback_id_delete(playback_id=found, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
