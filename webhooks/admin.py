from django.contrib import admin

from foundation.admin import ReadOnlyAdmin, find_link, pretty_json

from .models import Event


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The outbox as it was written: what support reads to see what an integration was told."""

    list_display = ["id", "created_at", "type", "object_link", "environment", "request_id"]
    list_filter = ["type", "object_type", "environment"]
    list_select_related = ["environment"]
    search_fields = ["=id", "=object_id", "=request_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ["id", "created_at", "environment", "type", "object_type", "object_link",
              "request_id", "data_pretty"]
    readonly_fields = fields

    @admin.display(description="object", ordering="object_id")
    def object_link(self, event: Event) -> str:
        return find_link(event.object_id)

    @admin.display(description="data")
    def data_pretty(self, event: Event) -> str:
        return pretty_json(event.data)
