from django.db.models import Q, QuerySet

from .models import Event


def event_list(*, environment_id: str, type: str | None = None, after: str | None = None) -> QuerySet[Event]:
    events = Event.objects.filter(environment_id=environment_id).select_related("environment")
    if type:
        events = events.filter(type=type)
    if after:
        events = events.filter(pk__gt=after)
    return events


def event_get(*, environment_id: str, event_id: str) -> Event | None:
    return (Event.objects.filter(environment_id=environment_id, pk=event_id)
            .select_related("environment").first())


# An endpoint's status as the admin shows it: working, failing (enabled, its last
# deliveries failed) or disabled. The endpoint list's filter, the system status page
# and GET /metrics all count by these.
ENDPOINT_STATUS = {
    "working": Q(enabled=True, failing_since__isnull=True),
    "failing": Q(enabled=True, failing_since__isnull=False),
    "disabled": Q(enabled=False),
}
