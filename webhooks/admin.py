from django.contrib import admin
from django.utils.html import format_html

from foundation.admin import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    apply_to_each,
    audit_trail_link,
    change_url,
    changelist_url,
    dotted,
    find_link,
    find_short,
    link_to,
    moment,
    pretty_json,
    short_id,
    small_line,
    state_label,
    time_column,
    url_shown,
    user_may,
    with_tooltip,
)

from . import services
from .models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .selectors import ENDPOINT_STATUS


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The outbox as it was written: what support reads to see what an integration was told."""

    list_display = ["type_shown", "created", "object_shown", "environment", "request_shown"]
    list_filter = ["type", "object_type", "environment"]
    list_select_related = ["environment"]
    search_fields = ["=id", "=object_id", "=request_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ["id", "created_at", "environment", "type", "object_type", "object_link",
              "request_id", "deliveries", "data_pretty"]
    readonly_fields = fields
    created = time_column("created_at", "created")

    @admin.display(description="type", ordering="type")
    def type_shown(self, event: Event) -> str:
        return with_tooltip(dotted(event.type), event.id)

    @admin.display(description="object", ordering="object_id")
    def object_shown(self, event: Event) -> str:
        return format_html("{}{}", small_line(event.object_type), find_short(event.object_id))

    @admin.display(description="request", ordering="request_id")
    def request_shown(self, event: Event) -> str:
        return find_short(event.request_id)

    @admin.display(description="object", ordering="object_id")
    def object_link(self, event: Event) -> str:
        return find_link(event.object_id)

    @admin.display(description="deliveries")
    def deliveries(self, event: Event) -> str:
        count = WebhookDelivery.objects.filter(event=event).count()
        if not count:
            return "None: no endpoint was subscribed to it."
        return format_html('<a href="{}">{} deliver{}</a>',
                           changelist_url(WebhookDelivery, event__id__exact=event.id),
                           count, "y" if count == 1 else "ies")

    @admin.display(description="data")
    def data_pretty(self, event: Event) -> str:
        return pretty_json(event.data)


def _retry(delivery: WebhookDelivery, actor) -> None:
    services.delivery_retry(delivery=delivery, actor=actor)


class FailingFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [("dead", "Dead (dead-lettered)"), ("failing", "Failing (retrying after an error)")]

    def queryset(self, request, queryset):
        if self.value() == "dead":
            return queryset.filter(status=WebhookDelivery.Status.DEAD)
        if self.value() == "failing":
            return queryset.filter(status=WebhookDelivery.Status.PENDING, attempts__gt=0)
        return queryset


class AttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ["started_at", "status_code", "latency_ms", "error", "response_excerpt"]
    readonly_fields = fields


class EndpointStatusFilter(admin.SimpleListFilter):
    """What the status column says: working, failing (its last delivery failed) or
    disabled. The system status page links to the failing ones."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("working", "working"), ("failing", "failing"), ("disabled", "disabled")]

    def queryset(self, request, queryset):
        status = ENDPOINT_STATUS.get(self.value())
        return queryset if status is None else queryset.filter(status)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    """Endpoints are managed through the API; their signing secrets are never shown."""

    list_display = ["url_and_id", "environment", "health", "created"]
    list_filter = [EndpointStatusFilter, "environment"]
    list_select_related = ["environment"]
    search_fields = ["=id", "url"]
    fields = ["id", "environment_link", "url", "events", "enabled", "disabled_reason",
              "failing_since", "created_at", "deliveries_link", "audit_trail"]
    readonly_fields = fields
    created = time_column("created_at", "created")

    @admin.display(description="URL", ordering="url")
    def url_and_id(self, endpoint: WebhookEndpoint) -> str:
        return format_html("{}{}", url_shown(endpoint.url, wide=True),
                           small_line(short_id(endpoint.id)))

    @admin.display(description="status", ordering="enabled")
    def health(self, endpoint: WebhookEndpoint) -> str:
        if not endpoint.enabled:
            return format_html("{}{}", state_label("disabled"),
                               small_line(endpoint.disabled_reason))
        if endpoint.failing_since:
            since = format_html("since {}", moment(endpoint.failing_since))
            return format_html("{}{}", state_label("failing"), small_line(since))
        return state_label("enabled")

    @admin.display(description="environment")
    def environment_link(self, endpoint: WebhookEndpoint) -> str:
        return link_to(endpoint.environment)

    @admin.display(description="deliveries")
    def deliveries_link(self, endpoint: WebhookEndpoint) -> str:
        return format_html('<a href="{}">{} deliveries</a>',
                           changelist_url(WebhookDelivery, endpoint__id__exact=endpoint.id),
                           endpoint.deliveries.count())

    @admin.display(description="audit trail")
    def audit_trail(self, endpoint: WebhookEndpoint) -> str:
        return audit_trail_link(endpoint.id)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """One event for one endpoint, with every attempt: what support reads when an
    integration says it never got a webhook."""

    list_display = ["event_and_id", "endpoint_shown", "status_and_attempts", "created",
                    "next_attempt"]
    list_filter = [FailingFilter, "status", "endpoint__environment"]
    list_select_related = ["event", "endpoint"]
    search_fields = ["=id", "=event__id", "=endpoint__id"]

    def lookup_allowed(self, lookup, value, request=None):
        # The deliveries of one object's events: linked from the object's own page.
        return lookup == "event__object_id" or super().lookup_allowed(lookup, value, request)
    show_full_result_count = False
    fields = ["id", "status_shown", "endpoint_link", "event_link", "attempts",
              "next_attempt_at", "last_status_code", "claim_expires_at", "created_at",
              "updated_at"]
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["retry_deliveries"]
    created = time_column("created_at", "created")
    next_attempt = time_column("next_attempt_at", "next attempt")

    @admin.display(description="status", ordering="status")
    def status_shown(self, delivery: WebhookDelivery) -> str:
        return state_label(delivery.status)

    @admin.display(description="event", ordering="event__type")
    def event_and_id(self, delivery: WebhookDelivery) -> str:
        return format_html("{}{}", dotted(delivery.event.type), small_line(short_id(delivery.id)))

    @admin.display(description="endpoint", ordering="endpoint__url")
    def endpoint_shown(self, delivery: WebhookDelivery) -> str:
        return url_shown(delivery.endpoint.url, change_url(delivery.endpoint))

    @admin.display(description="status", ordering="status")
    def status_and_attempts(self, delivery: WebhookDelivery) -> str:
        if not delivery.attempts:
            return format_html("{}{}", state_label(delivery.status), small_line("not sent yet"))
        answer = (f"HTTP {delivery.last_status_code}" if delivery.last_status_code
                  else "no response")
        tries = f"{delivery.attempts} attempt{'' if delivery.attempts == 1 else 's'}"
        detail = format_html('<span class="nowrap">{}</span> · <span class="nowrap">{}</span>',
                             tries, answer)
        return format_html("{}{}", state_label(delivery.status), small_line(detail))

    @admin.display(description="endpoint")
    def endpoint_link(self, delivery: WebhookDelivery) -> str:
        return link_to(delivery.endpoint)

    @admin.display(description="event")
    def event_link(self, delivery: WebhookDelivery) -> str:
        return link_to(delivery.event)

    def has_retry_permission(self, request) -> bool:
        return user_may(request, "retry", WebhookDelivery)

    @admin.action(description="Retry delivery", permissions=["retry"])
    def retry_deliveries(self, request, queryset):
        apply_to_each(request, queryset.select_related("endpoint"), _retry, done="Queued again")
