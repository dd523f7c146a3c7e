"""Live streams in the operator console: create and name them, find, enable, disable,
reset keys, read sessions and health. Every change here goes through the same services
as the API's (audit entries and events included)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join

from foundation.admin import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    apply_to_each,
    audit_trail_link,
    clipped,
    link_to,
    moment,
    pretty_json,
    short_id,
    small_line,
    state_label,
    time_column,
    titled_link,
    url_shown,
    user_may,
)
from foundation.context import Actor
from foundation.errors import DomainError
from media_core.models import Asset

from . import admin_nodes, services  # noqa: F401 - admin_nodes registers the node list
from .admin_forms import LiveStreamCreateForm, LiveStreamEditForm, key_once_response
from .admin_pictures import LivePictures
from .api.serializers import health_data, rtmp_url
from .models import HealthSample, LiveSession, LiveStream, SimulcastTarget
from .selectors import stream_playback_ids


def _kbps(bitrate: int | None) -> str:
    return f"{bitrate / 1000:,.0f} kb/s" if bitrate else "–"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def health_rows(health: dict) -> str:
    """A stream's health as the rows an operator reads, not as JSON."""
    def number(value, unit: str = "", digits: int = 1) -> str:
        return "–" if value is None else f"{value:.{digits}f}{unit}"

    if health["stalled"]:
        encoder = format_html('<strong style="color: #ba2121">connected, stalled</strong>')
    else:
        encoder = "connected" if health["connected"] else "not connected"
    codecs = " / ".join(c for c in (health["video_codec"], health["audio_codec"]) if c)
    last_seen = parse_datetime(health["last_seen_at"]) if health["last_seen_at"] else None
    rows = [
        ("Encoder", encoder),
        ("Bitrate", _kbps(health["bitrate"])),
        ("Frame rate", number(health["frame_rate"], " fps")),
        ("Resolution", f"{health['width']}×{health['height']}" if health["width"] else "–"),
        ("Codecs", codecs or "–"),
        ("Keyframe interval", number(health["keyframe_interval"], " s")),
        ("Uptime", _duration(health["uptime"]) if health["uptime"] is not None else "–"),
        ("Last seen", f"{last_seen:%Y-%m-%d %H:%M:%S} UTC" if last_seen else "never"),
        ("Disconnects", str(health["disconnects"])),
    ]
    return format_html('<table class="health-rows">{}</table>', format_html_join(
        "", '<tr><th scope="row">{}</th><td data-health="{}">{}</td></tr>',
        ((label, label.lower().replace(" ", "_"), value) for label, value in rows)))


class ConnectedFilter(admin.SimpleListFilter):
    title = "encoder"
    parameter_name = "encoder"

    def lookups(self, request, model_admin):
        return [("connected", "Connected"), ("stalled", "Connected but stalled"),
                ("waiting", "Waiting for a reconnect")]

    def queryset(self, request, queryset):
        if self.value() == "connected":
            return queryset.filter(connected=True)
        if self.value() == "stalled":
            return queryset.filter(connected=True, health__stalled=True)
        if self.value() == "waiting":
            return queryset.filter(connected=False, disconnected_at__isnull=False)
        return queryset


class TargetFields:
    """How a simulcast target shows, inline and on its own page: the key as a hint only."""

    @admin.display(description="stream key")
    def key_hint(self, target: SimulcastTarget) -> str:
        return target.key_hint

    @admin.display(description="status", ordering="status")
    def status_shown(self, target: SimulcastTarget) -> str:
        return state_label(target.status)


class SessionFields:
    @admin.display(description="recording")
    def asset_link(self, session: LiveSession) -> str:
        return link_to(session.asset)


class SimulcastTargetInline(TargetFields, ReadOnlyInline):
    model = SimulcastTarget
    fields = ["id", "url", "key_hint", "status_shown", "error", "restarts", "updated_at"]
    readonly_fields = fields


class SessionInline(SessionFields, ReadOnlyInline):
    model = LiveSession
    fields = ["id", "via", "address", "node", "app", "started_at", "playable_at", "ended_at",
              "end_reason", "bytes_in", "asset_link"]
    readonly_fields = fields
    ordering = ["-id"]
    max_num = 20


class HealthSampleInline(ReadOnlyInline):
    model = HealthSample
    fields = ["at", "bitrate_shown", "frame_rate", "resolution", "keyframe_interval", "stalled"]
    readonly_fields = fields
    verbose_name_plural = "recent health samples (newest first, last 30)"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        ids = list(queryset.order_by("-at").values_list("pk", flat=True)[:30])
        return queryset.filter(pk__in=ids).order_by("-at")

    @admin.display(description="bitrate")
    def bitrate_shown(self, sample: HealthSample) -> str:
        return _kbps(sample.bitrate)

    @admin.display(description="resolution")
    def resolution(self, sample: HealthSample) -> str:
        return f"{sample.width}×{sample.height}" if sample.width else "–"


@admin.register(LiveStream)
class LiveStreamAdmin(LivePictures, admin.ModelAdmin):
    list_display = ["picture", "name_and_id", "environment", "status_shown", "encoder",
                    "latency_mode", "records", "created"]
    list_display_links = ["picture", "name_and_id"]
    list_filter = ["status", ConnectedFilter, "latency_mode", "environment"]
    list_select_related = ["environment"]
    search_fields = ["=id", "name", "passthrough"]
    show_full_result_count = False
    editable_fields = ["name", "latency_mode", "reconnect_window", "passthrough"]
    view_fields = ["id", "name", "environment", "status_shown", "health_shown", "rtmp_server",
                   "latency_mode", "reconnect_window", "new_asset_settings_pretty",
                   "passthrough", "recording_asset_link", "recordings_link",
                   "playback_ids_shown", "created_at", "updated_at", "audit_trail"]
    inlines = [SimulcastTargetInline, SessionInline, HealthSampleInline]
    actions = ["enable", "disable", "complete", "reset_key"]
    created = time_column("created_at", "created")

    # Made by live_stream_create from a short form; then its name and settings change
    # through live_stream_update. Deleting is the API's (it ends runs and keeps recordings).
    def has_add_permission(self, request) -> bool:
        return user_may(request, "add", LiveStream)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = LiveStreamEditForm if obj else LiveStreamCreateForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return self.view_fields if obj else list(LiveStreamCreateForm.Meta.fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if self.has_change_permission(request, obj):
            return [f for f in self.view_fields if f not in self.editable_fields]
        return self.view_fields

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    def save_model(self, request, obj, form, change):
        actor = Actor.for_user(request.user)
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data
                      if name in self.editable_fields}
            if fields:
                services.live_stream_update(stream=obj, actor=actor, **fields)
            return
        stream, key = services.live_stream_create(actor=actor, **form.service_arguments())
        obj.pk, obj.created_at, obj.updated_at = stream.pk, stream.created_at, stream.updated_at
        obj._state.adding = False
        obj.new_key = key  # held for the response that shows it; stored nowhere

    def response_add(self, request, obj, post_url_continue=None):
        return key_once_response(request, self, LiveStream.objects.get(pk=obj.pk), obj.new_key)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    @admin.display(description="status", ordering="status")
    def status_shown(self, stream: LiveStream) -> str:
        return state_label(stream.status)

    @admin.display(description="stream", ordering="name")
    def name_and_id(self, stream: LiveStream) -> str:
        return format_html('<strong>{}</strong><br><span class="quiet">{}</span>',
                           stream.name, short_id(stream.id))

    @admin.display(description="encoder", ordering="connected")
    def encoder(self, stream: LiveStream) -> str:
        """Connected (with the bitrate it sends), stalled, or gone for now."""
        if stream.connected:
            shown = format_html('<strong style="color: #ba2121">stalled</strong>') \
                if (stream.health or {}).get("stalled") else "connected"
            bitrate = health_data(stream)["bitrate"]
            return format_html("{}{}", shown, small_line(_kbps(bitrate) if bitrate else ""))
        return "waiting for a reconnect" if stream.disconnected_at else "–"

    @admin.display(description="records", boolean=True)
    def records(self, stream: LiveStream) -> bool:
        return stream.records

    @admin.display(description="health")
    def health_shown(self, stream: LiveStream) -> str:
        return health_rows(health_data(stream))

    @admin.display(description="encoder server (RTMP)")
    def rtmp_server(self, stream: LiveStream) -> str:
        return rtmp_url(stream)

    @admin.display(description="recording")
    def new_asset_settings_pretty(self, stream: LiveStream) -> str:
        if not stream.records:
            return "Not recorded"
        settings = stream.new_asset_settings
        policies = ", ".join(settings.get("playback_policy") or []) or "no playback ID"
        publish = {True: "published when ready", False: "kept as a draft"}.get(
            settings.get("publish"), "published as the environment's publishing setting says")
        extra = {k: v for k, v in settings.items()
                 if k not in ("playback_policy", "publish") and v not in ("", [], {}, None)}
        return format_html("Each run is recorded as an asset: {}; {}.{}", policies, publish,
                           format_html("<br>{}", pretty_json(extra)) if extra else "")

    @admin.display(description="recording now")
    def recording_asset_link(self, stream: LiveStream) -> str:
        return link_to(stream.recording_asset)

    @admin.display(description="recordings")
    def recordings_link(self, stream: LiveStream) -> str:
        count = Asset.objects.filter(live_stream_id=stream.id, deleted_at__isnull=True).count()
        if not count:
            return "–"
        return format_html('<a href="/admin/media_core/asset/?live_stream_id={}">{} asset{}</a>',
                           stream.id, count, "" if count == 1 else "s")

    @admin.display(description="playback IDs")
    def playback_ids_shown(self, stream: LiveStream) -> str:
        return ", ".join(f"{p.id} ({p.policy})" for p in stream_playback_ids(stream)) or "–"

    @admin.display(description="audit trail")
    def audit_trail(self, stream: LiveStream) -> str:
        return audit_trail_link(stream.id)

    def has_operate_permission(self, request) -> bool:
        return user_may(request, "change", LiveStream)

    @admin.action(description="Enable (allow publishing)", permissions=["operate"])
    def enable(self, request, queryset):
        apply_to_each(request, queryset,
                      lambda s, actor: services.live_stream_enable(stream=s, actor=actor),
                      done="Enabled")

    @admin.action(description="Disable (refuse publishing, disconnect the encoder)",
                  permissions=["operate"])
    def disable(self, request, queryset):
        apply_to_each(request, queryset,
                      lambda s, actor: services.live_stream_disable(stream=s, actor=actor),
                      done="Disabled")

    @admin.action(description="Complete (end the run now, process the recording)",
                  permissions=["operate"])
    def complete(self, request, queryset):
        apply_to_each(request, queryset,
                      lambda s, actor: services.live_stream_complete(stream=s, actor=actor),
                      done="Completed")

    @admin.action(description="Reset stream key (one stream; the new key is shown once)",
                  permissions=["operate"])
    def reset_key(self, request, queryset):
        streams = list(queryset[:2])
        if len(streams) != 1:
            self.message_user(request, "Reset the key of one stream at a time: the new key is "
                                       "shown once, here.", level=messages.WARNING)
            return
        try:
            stream, key = services.live_stream_reset_key(stream=streams[0],
                                                         actor=Actor.for_user(request.user))
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)
            return
        from .api.serializers import srt_url

        self.message_user(request, format_html(
            "New stream key for {}: <code>{}</code> (server {}). SRT: <code>{}</code>. "
            "Copy them now; they are not shown again. A connected encoder is disconnected.",
            stream.id, key, rtmp_url(stream), srt_url(stream) or "no SRT port"),
            level=messages.SUCCESS)


@admin.register(LiveSession)
class LiveSessionAdmin(SessionFields, ReadOnlyAdmin):
    """Every publish: who connected from where, for how long, and what it recorded."""

    list_display = ["id_shown", "stream_shown", "encoder", "node", "started", "ended"]
    list_select_related = ["stream"]
    list_filter = ["via", "node", "app"]
    search_fields = ["=id", "=stream__id", "address"]
    date_hierarchy = "started_at"
    show_full_result_count = False
    fields = ["id", "stream_link", "via", "address", "node", "app", "client_id", "started_at",
              "playable_at", "ended_at", "end_reason", "bytes_in", "drop_requested",
              "recording_path", "asset_link"]
    readonly_fields = fields
    started = time_column("started_at", "started")

    @admin.display(description="live stream")
    def stream_link(self, session: LiveSession) -> str:
        return link_to(session.stream)

    @admin.display(description="session", ordering="id")
    def id_shown(self, session: LiveSession) -> str:
        return short_id(session.id)

    @admin.display(description="live stream", ordering="stream__name")
    def stream_shown(self, session: LiveSession) -> str:
        return titled_link(session.stream, str(session.stream))

    @admin.display(description="encoder", ordering="address")
    def encoder(self, session: LiveSession) -> str:
        return format_html("{}{}", small_line(session.via.upper()), session.address or "-")

    @admin.display(description="ended", ordering="ended_at")
    def ended(self, session: LiveSession) -> str:
        if session.ended_at is None:
            return format_html('<strong style="color: #1b7f3b">{}</strong>', "publishing")
        return format_html("{}{}", moment(session.ended_at), small_line(session.end_reason))


@admin.register(SimulcastTarget)
class SimulcastTargetAdmin(TargetFields, ReadOnlyAdmin):
    list_display = ["id_shown", "stream_shown", "destination", "status_and_error", "updated"]
    list_select_related = ["stream"]
    list_filter = ["status"]
    search_fields = ["=id", "=stream__id", "url"]
    fields = ["id", "stream_link", "url", "key_hint", "status_shown", "error", "speed",
              "restarts", "created_at", "updated_at", "audit_trail"]
    readonly_fields = fields
    updated = time_column("updated_at", "updated")

    @admin.display(description="live stream")
    def stream_link(self, target: SimulcastTarget) -> str:
        return link_to(target.stream)

    @admin.display(description="target", ordering="id")
    def id_shown(self, target: SimulcastTarget) -> str:
        return short_id(target.id)

    @admin.display(description="live stream", ordering="stream__name")
    def stream_shown(self, target: SimulcastTarget) -> str:
        return titled_link(target.stream, str(target.stream))

    @admin.display(description="destination", ordering="url")
    def destination(self, target: SimulcastTarget) -> str:
        hint = target.key_hint
        return format_html("{}{}", url_shown(target.url),
                           small_line(f"stream key {hint}" if hint else "no stream key"))

    @admin.display(description="status", ordering="status")
    def status_and_error(self, target: SimulcastTarget) -> str:
        error = clipped(target.error) if target.error else ""
        return format_html("{}{}", state_label(target.status), small_line(error))

    @admin.display(description="audit trail")
    def audit_trail(self, target: SimulcastTarget) -> str:
        return audit_trail_link(target.stream_id)
