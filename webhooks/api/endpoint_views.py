"""Webhook endpoints and their deliveries (scope webhooks:manage)."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from foundation import outbound
from foundation.api.views import ApiView
from foundation.errors import NotFound, ValidationFailed
from webhooks import dispatch, services
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

from .serializers import (
    NewWebhookEndpointSerializer,
    ReplaySerializer,
    SecretSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
)

SCOPE = "webhooks:manage"


def _endpoint(environment_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(environment_id=environment_id, pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {endpoint_id!r} in this environment.")
    return endpoint


def _deliveries():
    # The event's type is shown, not its data: a document each, too big to read for nothing.
    return (WebhookDelivery.objects.select_related("event").defer("event__data")
            .prefetch_related(Prefetch("attempt_log", WebhookAttempt.objects.order_by("started_at", "id"))))


def _check_url(url: str) -> None:
    """Resolves the host: call from `prepare`, before any transaction."""
    try:
        dispatch.check_url(url)
    except outbound.OutboundRefused as exc:
        message = ("The URL points to a private or local address; webhooks go to public "
                   "addresses only." if exc.reason == "address" else exc.message)
        raise ValidationFailed(message, code="url_refused", errors={"url": [message]}) from exc
    except outbound.OutboundUnavailable as exc:
        message = "The URL's host name could not be resolved."
        raise ValidationFailed(message, code="url_unresolvable", errors={"url": [message]}) from exc


class WebhookEndpointListView(ApiView):
    required_scopes = {"GET": SCOPE, "POST": SCOPE}
    serializer_class = WebhookEndpointSerializer
    one_time_secrets = ("secret",)

    def prepare(self, request):
        if request.method == "POST":
            params = WebhookEndpointCreateSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            _check_url(params.validated_data["url"])
            self.params = params

    @extend_schema(operation_id="list_webhook_endpoints",
                   summary="List webhook endpoints", responses=WebhookEndpointSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(WebhookEndpoint.objects.filter(environment_id=self.environment_id))
        return self.get_paginated_response(WebhookEndpointSerializer(page, many=True).data)

    @extend_schema(operation_id="create_webhook_endpoint",
                   summary="Create a webhook endpoint", request=WebhookEndpointCreateSerializer,
                   responses={201: NewWebhookEndpointSerializer},
                   description="Events of the listed types are POSTed to `url`, signed per "
                               "Standard Webhooks. The signing `secret` is in this response "
                               "only. A URL on a private or local address is refused.")
    def post(self, request):
        endpoint, secret = services.endpoint_create(environment_id=self.environment_id,
                                                    actor=self.actor, **self.params.validated_data)
        data = {**WebhookEndpointSerializer(endpoint).data, "secret": secret}
        return Response(data, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailView(ApiView):
    required_scopes = {"GET": SCOPE, "PATCH": SCOPE, "DELETE": SCOPE}
    serializer_class = WebhookEndpointSerializer

    def prepare(self, request):
        if request.method == "PATCH":
            params = WebhookEndpointUpdateSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            if "url" in params.validated_data:
                _check_url(params.validated_data["url"])
            self.params = params

    @extend_schema(operation_id="get_webhook_endpoint", summary="Get a webhook endpoint")
    def get(self, request, endpoint_id: str):
        return Response(WebhookEndpointSerializer(_endpoint(self.environment_id, endpoint_id)).data)

    @extend_schema(operation_id="update_webhook_endpoint",
                   summary="Update a webhook endpoint's url, events or enabled",
                   request=WebhookEndpointUpdateSerializer)
    def patch(self, request, endpoint_id: str):
        endpoint = services.endpoint_update(endpoint=_endpoint(self.environment_id, endpoint_id),
                                            actor=self.actor, **self.params.validated_data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(operation_id="delete_webhook_endpoint",
                   summary="Delete a webhook endpoint and its deliveries", responses={204: None})
    def delete(self, request, endpoint_id: str):
        services.endpoint_delete(endpoint=_endpoint(self.environment_id, endpoint_id),
                                 actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretRotateView(ApiView):
    required_scopes = {"POST": SCOPE}
    serializer_class = SecretSerializer
    one_time_secrets = ("secret",)

    @extend_schema(operation_id="rotate_webhook_endpoint_secret",
                   summary="Rotate a webhook endpoint's signing secret", request=None,
                   responses={200: SecretSerializer},
                   description="Deliveries are signed with the new secret and, for 24 hours, "
                               "with the previous ones too (several `v1,` signatures).")
    def post(self, request, endpoint_id: str):
        secret, ends = services.endpoint_rotate_secret(
            endpoint=_endpoint(self.environment_id, endpoint_id), actor=self.actor)
        return Response(SecretSerializer({"secret": secret, "previous_expires_at": ends}).data)


class WebhookDeliveryListView(ApiView):
    required_scopes = {"GET": SCOPE}
    serializer_class = WebhookDeliverySerializer

    @extend_schema(operation_id="list_webhook_deliveries",
                   summary="List an endpoint's deliveries with their attempts",
                   responses=WebhookDeliverySerializer(many=True))
    def get(self, request, endpoint_id: str):
        endpoint = _endpoint(self.environment_id, endpoint_id)
        page = self.paginate_queryset(_deliveries().filter(endpoint=endpoint))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


class WebhookDeliveryRetryView(ApiView):
    required_scopes = {"POST": SCOPE}
    serializer_class = WebhookDeliverySerializer

    @extend_schema(operation_id="retry_webhook_delivery",
                   summary="Send a delivery again now", request=None,
                   responses={200: WebhookDeliverySerializer},
                   description="A pending delivery is sent at once; a dead (or succeeded) "
                               "one gets one more attempt.")
    def post(self, request, delivery_id: str):
        delivery = _deliveries().filter(endpoint__environment_id=self.environment_id,
                                        pk=delivery_id).select_related("endpoint").first()
        if delivery is None:
            raise NotFound(f"No webhook delivery {delivery_id!r} in this environment.")
        services.delivery_retry(delivery=delivery, actor=self.actor)
        fresh = _deliveries().get(pk=delivery.pk)
        return Response(WebhookDeliverySerializer(fresh).data)


class WebhookReplayDeadView(ApiView):
    required_scopes = {"POST": SCOPE}
    serializer_class = ReplaySerializer

    @extend_schema(operation_id="replay_dead_webhook_deliveries",
                   summary="Queue every dead delivery of an endpoint again", request=None,
                   responses={200: ReplaySerializer})
    def post(self, request, endpoint_id: str):
        ids = services.endpoint_replay_dead(endpoint=_endpoint(self.environment_id, endpoint_id),
                                            actor=self.actor)
        return Response({"queued": ids})
