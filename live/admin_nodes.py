"""Ingest nodes in the operator console: each machine that reported, whether it still
does, and how many streams it had. Read-only: the rows are the nodes' own reports."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from foundation.admin import ReadOnlyAdmin, changelist_url, moment, small_line, time_column

from .models import IngestNode, LiveSession
from .selectors import NODE_STATES, ingest_node_state, ingest_nodes_in_state

# Reporting is good news, silence is not; a node that said it was stopping is neither.
NODE_COLOURS = {"reporting": "#1b7f3b", "silent": "#ba2121", "stopped": "#666"}


def ago(value, now=None) -> str:
    """How long ago, in seconds while that is under a minute (nodes report every ~2 s)."""
    seconds = max(((now or timezone.now()) - value).total_seconds(), 0)
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    return f"{timesince(value, now or timezone.now(), depth=1)} ago"


def node_state_label(state: str) -> str:
    return format_html('<strong style="color: {}">{}</strong>', NODE_COLOURS[state], state)


class NodeStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [(state, state.capitalize()) for state in NODE_STATES]

    def queryset(self, request, queryset):
        if self.value() in NODE_STATES:
            return queryset & ingest_nodes_in_state(self.value())
        return queryset


@admin.register(IngestNode)
class IngestNodeAdmin(ReadOnlyAdmin):
    list_display = ["name", "state", "last_report", "streams", "first_seen", "sessions"]
    list_filter = [NodeStateFilter]
    search_fields = ["name"]
    fields = ["name", "state", "last_report_at", "stopped_at", "streams", "first_seen_at",
              "sessions"]
    readonly_fields = fields
    first_seen = time_column("first_seen_at", "first seen")

    @admin.display(description="state")
    def state(self, node: IngestNode) -> str:
        return node_state_label(ingest_node_state(node))

    @admin.display(description="last report", ordering="last_report_at")
    def last_report(self, node: IngestNode) -> str:
        return format_html("{}{}", moment(node.last_report_at), small_line(ago(node.last_report_at)))

    @admin.display(description="sessions")
    def sessions(self, node: IngestNode) -> str:
        return format_html('<a href="{}">its sessions</a>',
                           changelist_url(LiveSession, node=node.name))
