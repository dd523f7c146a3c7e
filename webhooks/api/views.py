from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from foundation.api.views import ApiView
from foundation.errors import NotFound, ValidationFailed
from foundation.ids import id_pattern, looks_like
from webhooks import catalogue, selectors

from .serializers import EventSerializer, unknown_event_type


class _CatalogueNames:
    """The catalogue's type names, read when the schema is generated: every app has
    declared its types by then, not necessarily when this module is imported."""

    def __iter__(self):
        return iter(catalogue.names())

    def __bool__(self) -> bool:
        return True


class EventListView(ApiView):
    required_scopes = {"GET": "events:read"}
    serializer_class = EventSerializer

    @extend_schema(
        operation_id="list_events",
        summary="List events",
        responses=EventSerializer(many=True),
        description="Newest first. `after=evt_…` returns only events created after that one "
                    "(the polling fallback for webhooks).",
        parameters=[
            OpenApiParameter("type", str, enum=_CatalogueNames(),
                             description="Only events of this type."),
            OpenApiParameter("after", str, pattern=id_pattern("evt"),
                             description="Only events after this event id."),
        ],
    )
    def get(self, request):
        after = request.query_params.get("after")
        if after and not looks_like(after, "evt"):
            raise ValidationFailed("after must be an event id (evt_…).",
                                   errors={"after": ["Must be an event id."]})
        event_type = request.query_params.get("type")
        if event_type and not catalogue.is_known(event_type):
            message = unknown_event_type(event_type)
            raise ValidationFailed(message, errors={"type": [message]})
        events = selectors.event_list(environment_id=self.environment_id, type=event_type,
                                      after=after)
        page = self.paginate_queryset(events)
        return self.get_paginated_response(EventSerializer(page, many=True).data)


class EventDetailView(ApiView):
    required_scopes = {"GET": "events:read"}
    serializer_class = EventSerializer

    @extend_schema(operation_id="get_event", summary="Get an event")
    def get(self, request, event_id: str):
        event = selectors.event_get(environment_id=self.environment_id, event_id=event_id)
        if event is None:
            raise NotFound("No such event.")
        return Response(EventSerializer(event).data)
