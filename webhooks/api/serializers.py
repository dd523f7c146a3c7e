from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from webhooks import catalogue
from webhooks.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EventObjectSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()


class EventSerializer(serializers.ModelSerializer):
    environment = serializers.CharField(source="environment.name")
    object = serializers.SerializerMethodField()
    data = serializers.JSONField()

    class Meta:
        model = Event
        fields = ["id", "type", "created_at", "environment", "object", "data", "request_id"]

    def get_object(self, event: Event) -> dict:
        return {"type": event.object_type, "id": event.object_id}


class EventDocumentSerializer(EventSerializer):
    """An event as a webhook delivers it: the API's document plus the object's sequence."""

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "sequence"]


class WebhookEndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "enabled", "disabled_reason", "failing_since",
                  "created_at"]


class NewWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        allow_null=True,
        help_text="The signing secret (whsec_…); shown only here, null in an idempotent replay.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


def unknown_event_type(name: str) -> str:
    return f"Unknown event type '{name}'."


class EventTypeField(serializers.CharField):
    """A type of the event catalogue, or "*" (all of them): checked by EventTypesField."""


class EventTypeFieldSchema(OpenApiSerializerFieldExtension):
    """The schema lists the catalogue as it stands when the schema is generated."""

    target_class = EventTypeField

    def get_name(self) -> str:
        return "EventTypeOrAll"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": [catalogue.ALL, *catalogue.names()],
                "description": 'An event type of the catalogue, or "*" for all of them.'}


class EventTypesField(serializers.ListField):
    """Event types to subscribe to: an unknown one is refused, naming it, so an endpoint
    never waits for a misspelt type that will not come."""

    def __init__(self, **kwargs):
        super().__init__(child=EventTypeField(max_length=100), allow_empty=False, min_length=1,
                         max_length=100, **kwargs)

    def to_internal_value(self, data):
        types = super().to_internal_value(data)
        unknown = [t for t in types if t != catalogue.ALL and not catalogue.is_known(t)]
        if unknown:
            raise serializers.ValidationError([unknown_event_type(t) for t in unknown])
        return types


def _events_field(**kwargs) -> serializers.ListField:
    return EventTypesField(help_text='Event types to receive, or ["*"] for all; a type not in '
                                     'the catalogue is refused.', **kwargs)


@extend_schema_serializer(examples=[OpenApiExample(
    "Ready and errored assets", request_only=True,
    value={"url": "https://hooks.example.com/kino",
           "events": ["video.asset.ready", "video.asset.errored"]},
)])
class WebhookEndpointCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    events = _events_field(default=["*"])


@extend_schema_serializer(examples=[OpenApiExample(
    "Every event, enabled again", request_only=True, value={"events": ["*"], "enabled": True},
)])
class WebhookEndpointUpdateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000, required=False)
    events = _events_field(required=False)
    enabled = serializers.BooleanField(required=False)


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(
        allow_null=True,
        help_text="The new signing secret; shown only here, null in an idempotent replay.")
    previous_expires_at = serializers.DateTimeField(
        help_text="Until then the previous secrets keep signing too.")


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["started_at", "status_code", "latency_ms", "response_excerpt", "error"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.CharField()
    event_type = serializers.CharField(source="event.type")
    endpoint_id = serializers.CharField()
    attempts = WebhookAttemptSerializer(source="attempt_log", many=True, read_only=True)
    attempt_count = serializers.IntegerField(source="attempts", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "endpoint_id", "event_id", "event_type", "status", "attempt_count",
                  "next_attempt_at", "last_status_code", "created_at", "updated_at", "attempts"]


class ReplaySerializer(serializers.Serializer):
    queued = serializers.ListField(child=serializers.CharField(),
                                   help_text="The ids of the deliveries queued again.")
