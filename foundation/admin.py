"""The admin's shared pieces, and the audit trail, which nobody may change.

The admin is an operator console: ids and states are read-only, and every state change
is an action that calls a service with the signed-in user as the actor.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext, quote
from django.db import models
from django.http import HttpRequest
from django.urls import reverse, reverse_lazy
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

from .context import Actor
from .errors import DomainError
from .models import AuditEntry

admin.site.site_header = "Kino"
admin.site.site_title = "Kino admin"
admin.site.index_title = "Operator console"
# Kino has no public website of its own ("/" is nothing); what the platform shows the
# world is its API, so "View site" opens the API reference.
admin.site.site_url = reverse_lazy("api-docs")


def apply_to_each(request: HttpRequest, objects: Iterable[models.Model],
                  operation: Callable[[Any, Actor], object], *, done: str) -> int:
    """Run a service on each object as the signed-in user.

    Each call commits on its own, so one refusal does not undo the others; refusals are
    reported one by one with the service's own words, successes as a count.
    """
    actor = Actor.for_user(request.user)
    succeeded = 0
    opts = None
    for obj in objects:
        opts = obj._meta
        try:
            operation(obj, actor)
        except DomainError as exc:
            messages.error(request, f"{capfirst(opts.verbose_name)} {obj.pk}: {exc.detail}")
        else:
            succeeded += 1
    if succeeded:
        messages.success(request, f"{done} {succeeded} {model_ngettext(opts, succeeded)}.")
    return succeeded


def user_may(request: HttpRequest, codename: str, model: type[models.Model]) -> bool:
    """A Django model permission, for actions whose page itself is read-only."""
    return request.user.has_perm(f"{model._meta.app_label}.{codename}_{model._meta.model_name}")


def change_url(obj: models.Model) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change",
                   args=[quote(obj.pk)])


def changelist_url(model: type[models.Model], **filters: str) -> str:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def link_to(obj: models.Model | None, label: str | None = None) -> str:
    if obj is None:
        return "-"
    return format_html('<a href="{}">{}</a>', change_url(obj), label or str(obj))


def find_url(public_id: str) -> str:
    return f"{reverse('admin-find')}?{urlencode({'id': public_id})}"


def find_link(public_id: str) -> str:
    """A link to whatever object an id names, resolved by the find-by-ID page."""
    if not public_id:
        return "-"
    return format_html('<a href="{}">{}</a>', find_url(public_id), public_id)


# --- list columns ----------------------------------------------------------------------
# A list has about 735 px for its columns at 1400 px (the navigation and the filters take
# the rest), so long values are cut to fit; the whole value stays in the page, for copying
# and the browser's find, and shows as a tooltip. The styles are in admin/base_site.html.
ID_HEAD, ID_TAIL = 8, 6


def short_id(public_id: str, url: str = "") -> str:
    """An id cut in the middle, "aud_01m8…6dgyza": ids made the same day share their
    start, so the end is what tells rows apart. The page holds the whole id (the end is
    drawn again after the cut by the style sheet). A link when given a URL."""
    if not public_id:
        return "-"
    tag, href = ("a", format_html(' href="{}"', url)) if url else ("span", "")
    if len(public_id) <= ID_HEAD + 1 + ID_TAIL:
        return format_html('<{}{} class="kino-id">{}</{}>', tag, href, public_id, tag)
    return format_html('<{}{} class="kino-id" title="{}" data-tail="{}"><span>{}</span></{}>',
                       tag, href, public_id, public_id[-ID_TAIL:], public_id, tag)


def find_short(public_id: str) -> str:
    """find_link in a list column: the id cut to fit, whole in its tooltip."""
    return short_id(public_id, find_url(public_id)) if public_id else "-"


def clipped(text: str, full: str = "", url: str = "", *, wide: bool = False) -> str:
    """Text cut at the column's edge with an ellipsis; the tooltip holds all of it. A link
    when given a URL; wide for the one long column of a list."""
    if not text:
        return "-"
    css = "kino-clip kino-clip-wide" if wide else "kino-clip"
    if url:
        return format_html('<a class="{}" href="{}" title="{}">{}</a>', css, url,
                           full or text, text)
    return format_html('<span class="{}" title="{}">{}</span>', css, full or text, text)


def small_line(text: str) -> str:
    """A second, smaller line in a cell: the kind above an id, a detail below a state."""
    return format_html('<span class="kino-line">{}</span>', text) if text else ""


def with_tooltip(text: str, tooltip: str) -> str:
    return format_html('<span title="{}">{}</span>', tooltip, text)


def free_text(text: str, tooltip: str = "") -> str:
    """A name someone typed: it may break anywhere (a file name, an e-mail address) rather
    than widen the list."""
    return format_html('<span class="kino-wrap" title="{}">{}</span>', tooltip, text)


def titled_link(obj: models.Model | None, title: str) -> str:
    """A link to an object by its name, its id in the tooltip."""
    if obj is None:
        return "-"
    return format_html('<a class="kino-wrap" href="{}" title="{}">{}</a>', change_url(obj),
                       obj.pk, title)


def url_shown(url: str, link: str = "", *, wide: bool = False) -> str:
    """A URL as host and path, cut to fit; the whole URL in the tooltip."""
    parts = urlsplit(url)
    return clipped(f"{parts.netloc}{parts.path}" if parts.netloc else url, url, link,
                   wide=wide)


def moment(value: datetime | None) -> str:
    """A time as the console writes it (config/formats); in a narrow column it wraps
    between the date and the time, never inside the date."""
    if not value:
        return "-"
    day, _, hour = formats.localize(timezone.localtime(value)).partition(" ")
    return format_html('<span class="nowrap">{}</span> {}', day, hour)


def time_column(field: str, description: str) -> Callable[[Any, models.Model], str]:
    """A sortable date-time column that wraps to date over time when the list is tight
    (Django keeps a date field's own column on one line)."""
    @admin.display(description=description, ordering=field)
    def column(model_admin, obj: models.Model) -> str:
        return moment(getattr(obj, field))
    return column


def dotted(name: str) -> str:
    """A dotted name ("webhook_endpoint.created") that may break after its dots."""
    may_break = mark_safe(".<wbr>")  # noqa: S308 - a constant
    return format_html_join(may_break, "{}", ((part,) for part in name.split(".")))


def audit_trail_link(public_id: str) -> str:
    count = AuditEntry.objects.filter(object_id=public_id).count()
    return format_html('<a href="{}">{} audit entr{}</a>',
                       changelist_url(AuditEntry, object_id=public_id), count,
                       "y" if count == 1 else "ies")


def pretty_json(value: Any) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True,
                                                   ensure_ascii=False, default=str))


def bullet_list(items: Iterable[str]) -> str:
    items = list(items)
    if not items:
        return "-"
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((i,) for i in items)))


def percent(progress: float | None) -> str:
    if progress is None:
        return "-"
    return f"{round(progress * 100)} %"


def progress_bar(progress: float | None) -> str:
    if progress is None:
        return "-"
    value = round(progress * 100)
    return format_html('<progress max="100" value="{}"></progress> {} %', value, value)


class ReadOnlyAdmin(admin.ModelAdmin):
    """No form writes these rows, for anyone, superusers included.

    They change only through actions that call services, or, for records of what
    happened, never.
    """

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CreateOnlyAdmin(admin.ModelAdmin):
    """Made by a service from a short add form, then only viewed and acted on."""

    add_fields: list[str] = []
    view_fields: list[str] = []

    def get_fields(self, request, obj=None):
        return self.view_fields if obj else self.add_fields

    def get_readonly_fields(self, request, obj=None):
        return self.view_fields if obj else []

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Related rows shown for context; they change only through their own services."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


_STATE_COLOURS = {
    "ready": "#1b7f3b", "succeeded": "#1b7f3b", "asset_created": "#1b7f3b", "active": "#1b7f3b",
    "errored": "#ba2121", "failed": "#ba2121", "timed_out": "#ba2121", "revoked": "#ba2121",
    "preparing": "#a05a00", "queued": "#a05a00", "running": "#a05a00", "waiting": "#a05a00",
    "published": "#1b7f3b", "scheduled": "#a05a00", "unpublished": "#ba2121",
    "enabled": "#1b7f3b", "broadcasting": "#1b7f3b", "dead": "#ba2121", "failing": "#ba2121",
    "pending": "#a05a00", "delivering": "#a05a00", "starting": "#a05a00",
}


def state_label(state: str, note: str = "") -> str:
    """A state in its colour: green done, red failed, amber in progress, grey otherwise."""
    colour = _STATE_COLOURS.get(state, "#666")
    if note:
        return format_html('<strong style="color: {}">{}</strong> ({})', colour, state, note)
    return format_html('<strong style="color: {}">{}</strong>', colour, state)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["action_shown", "created", "object_shown", "actor_shown", "environment",
                    "request_shown"]
    list_filter = ["object_type", "actor_type", "action", "environment"]
    list_select_related = ["environment"]
    search_fields = ["=id", "=object_id", "=request_id", "=actor_id", "actor_label"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ["id", "created_at", "environment", "action", "object_type", "object_link",
              "actor_type", "actor_id", "actor_label", "request_id", "message", "changes_pretty"]
    readonly_fields = fields
    created = time_column("created_at", "created")

    @admin.display(description="action", ordering="action")
    def action_shown(self, entry: AuditEntry) -> str:
        return with_tooltip(dotted(entry.action), entry.id)

    @admin.display(description="object", ordering="object_id")
    def object_shown(self, entry: AuditEntry) -> str:
        return format_html("{}{}", small_line(entry.object_type), find_short(entry.object_id))

    @admin.display(description="actor", ordering="actor_label")
    def actor_shown(self, entry: AuditEntry) -> str:
        return format_html("{}{}", small_line(entry.actor_type),
                           free_text(entry.actor_label or "-", entry.actor_id))

    @admin.display(description="request", ordering="request_id")
    def request_shown(self, entry: AuditEntry) -> str:
        return find_short(entry.request_id)

    @admin.display(description="object", ordering="object_id")
    def object_link(self, entry: AuditEntry) -> str:
        return find_link(entry.object_id)

    @admin.display(description="changes")
    def changes_pretty(self, entry: AuditEntry) -> str:
        return pretty_json(entry.changes)
