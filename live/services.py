"""Everything that changes a live stream: the API's operations and the ingest's reports.

A stream is `idle` until an encoder publishes with its key and the first playlist is
written (`active`); it stays `active` for `reconnect_window` seconds after the encoder
leaves, so a reconnect continues the same run (and the same recording), then goes
back to `idle`. `disabled` refuses publishing. Each change writes an audit entry and an
event in its transaction, and tells the operator dashboard after commit.

The stream key an encoder sends is `{stream id}?key={secret}`: nginx-rtmp hands the
query to the publish callback as a field and names files and HLS after the stream id
alone, so the secret never reaches a file name, a playback URL or a log line. Only a
SHA-256 of the secret is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from foundation.audit import AuditAction, audit_record, diff
from foundation.context import Actor
from foundation.errors import Conflict, InvalidTransition, ValidationFailed
from foundation.ids import looks_like
from foundation.statemachine import transition
from foundation.tasks import enqueue_on_commit
from media_core import audit_actions as media_audit_actions
from media_core.models import Asset, PlaybackID
from media_core.services import assets as asset_services
from media_core.services.playback_ids import (
    source_playback_id_create,
    source_playback_id_delete,
    source_playback_ids_delete,
)
from media_core.services.records import asset_event
from webhooks.catalogue import EventType
from webhooks.services import event_emit

from . import audit_actions, dashboard, events
from .api.serializers import INGEST_APPS, live_stream_data, simulcast_target_data
from .delivery import SOURCE_TYPE
from .models import HealthSample, LiveSession, LiveStream, SimulcastTarget

log = logging.getLogger("kino.live")
Status = LiveStream.Status
TargetStatus = SimulcastTarget.Status
INGEST = Actor.system("live ingest")
# A session older than this that its node's report no longer lists ended without a
# callback (the node lost it, or restarted).
LOST_AFTER = timedelta(seconds=10)


# --- keys --------------------------------------------------------------------------
def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    secret = secrets.token_urlsafe(24)
    return secret, _hash(secret)


def stream_key(stream: LiveStream, secret: str) -> str:
    return f"{stream.id}?key={secret}"


def relay_token(stream: LiveStream) -> str:
    """What an ingest node's own SRT relay publishes with instead of the stream key
    (which is stored hashed only). It changes when the key is reset."""
    material = f"relay:{stream.id}:{stream.key_generation}".encode()
    return hmac.new(settings.LIVE_INGEST_SECRET.encode(), material, hashlib.sha256).hexdigest()[:40]


def _allocate_srt_port(stream: LiveStream) -> None:
    """The lowest free port of SRT_PORTS; none when all are taken (srt_url is then null)."""
    taken = set(LiveStream.objects.exclude(srt_port=None).values_list("srt_port", flat=True))
    for port in settings.SRT_PORTS:
        if port in taken:
            continue
        try:
            with transaction.atomic():
                LiveStream.objects.filter(pk=stream.pk).update(srt_port=port)
        except IntegrityError:
            continue  # taken meanwhile by another request
        stream.srt_port = port
        return
    log.warning("no free SRT port in %s for %s", settings.SRT_PORTS, stream.id)


# --- records -----------------------------------------------------------------------
def _emit(stream: LiveStream, type: EventType) -> None:
    fresh = LiveStream.objects.prefetch_related("simulcast_targets").get(pk=stream.pk)
    event_emit(environment_id=stream.environment_id, type=type, object_type="live_stream",
               object_id=stream.id, data=live_stream_data(fresh))


def _audit(stream: LiveStream, actor: Actor, action: AuditAction, changes: dict,
           message: str = "") -> None:
    audit_record(actor=actor, action=action, object_type="live_stream", object_id=stream.id,
                 environment_id=stream.environment_id, changes=changes, message=message)


def _target_emit(target: SimulcastTarget, type: EventType) -> None:
    event_emit(environment_id=target.stream.environment_id, type=type,
               object_type="simulcast_target", object_id=target.id,
               data={**simulcast_target_data(target), "live_stream_id": target.stream_id})


def _editable(stream: LiveStream) -> dict[str, Any]:
    return {"latency_mode": stream.latency_mode, "reconnect_window": stream.reconnect_window,
            "new_asset_settings": stream.new_asset_settings, "passthrough": stream.passthrough}


# --- the API's operations ----------------------------------------------------------
def live_stream_create(*, environment_id: str, actor: Actor, playback_policy: list[str],
                       new_asset_settings: dict | None, reconnect_window: float,
                       latency_mode: str, passthrough: str = "") -> tuple[LiveStream, str]:
    """A new idle stream; returns it with its stream key (shown this once)."""
    secret, key_hash = _new_key()
    with transaction.atomic():
        stream = LiveStream.objects.create(
            environment_id=environment_id, latency_mode=latency_mode,
            reconnect_window=reconnect_window, new_asset_settings=new_asset_settings,
            passthrough=passthrough, key_hash=key_hash,
            srt_passphrase=secrets.token_urlsafe(18))
        _allocate_srt_port(stream)
        for policy in playback_policy:
            source_playback_id_create(environment_id=environment_id, source_type=SOURCE_TYPE,
                                      source_id=stream.id, policy=policy)
        _audit(stream, actor, audit_actions.LIVE_STREAM_CREATED, diff({}, {"status": stream.status,
                                                               **_editable(stream)}))
        _emit(stream, events.LIVE_STREAM_CREATED)
        dashboard.broadcast_on_commit([stream.id])
    return stream, stream_key(stream, secret)


def live_stream_update(*, stream: LiveStream, actor: Actor, **fields) -> LiveStream:
    editable = {"latency_mode", "reconnect_window", "new_asset_settings", "passthrough"}
    unknown = set(fields) - editable
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        stream = _locked(stream)
        before = _editable(stream)
        for name, value in fields.items():
            setattr(stream, name, value)
        changes = diff(before, _editable(stream))
        if changes:
            stream.save(update_fields=[*fields, "updated_at"])
            _audit(stream, actor, audit_actions.LIVE_STREAM_UPDATED, changes)
            _emit(stream, events.LIVE_STREAM_UPDATED)
            dashboard.broadcast_on_commit([stream.id])
    return stream


def _locked(stream: LiveStream) -> LiveStream:
    stream = LiveStream.objects.select_for_update().get(pk=stream.pk)
    if stream.deleted_at:
        raise Conflict("The live stream was deleted.", code="live_stream_deleted")
    return stream


def _drop_open_sessions(stream: LiveStream) -> int:
    """Ask the ingest to disconnect the encoder (it does so within one report)."""
    return LiveSession.objects.filter(stream=stream, ended_at=None).update(drop_requested=True)


def live_stream_reset_key(*, stream: LiveStream, actor: Actor) -> tuple[LiveStream, str]:
    """A new stream key and SRT passphrase; an encoder using the old ones is disconnected."""
    secret, key_hash = _new_key()
    with transaction.atomic():
        stream = _locked(stream)
        stream.key_hash = key_hash
        stream.key_generation += 1
        stream.srt_passphrase = secrets.token_urlsafe(18)
        stream.save(update_fields=["key_hash", "key_generation", "srt_passphrase", "updated_at"])
        dropped = _drop_open_sessions(stream)
        _audit(stream, actor, audit_actions.LIVE_STREAM_KEY_RESET,
               {"stream_key": ["(old)", "(new)"]},
               message="The connected encoder is disconnected." if dropped else "")
    return stream, stream_key(stream, secret)


def live_stream_disable(*, stream: LiveStream, actor: Actor) -> LiveStream:
    """Refuse publishing; a connected encoder is disconnected and its run ends now."""
    with transaction.atomic():
        stream = _locked(stream)
        if stream.status == Status.DISABLED:
            return stream
        before = transition(stream, LiveStream.TRANSITIONS, Status.DISABLED)
        _drop_open_sessions(stream)
        _audit(stream, actor, audit_actions.LIVE_STREAM_DISABLED,
               {"status": [before, stream.status]})
        _end_run(stream, was_active=before == Status.ACTIVE)
        _emit(stream, events.LIVE_STREAM_DISABLED)
        dashboard.broadcast_on_commit([stream.id])
    return stream


def live_stream_enable(*, stream: LiveStream, actor: Actor) -> LiveStream:
    with transaction.atomic():
        stream = _locked(stream)
        if stream.status != Status.DISABLED:
            return stream
        before = transition(stream, LiveStream.TRANSITIONS, Status.IDLE)
        _audit(stream, actor, audit_actions.LIVE_STREAM_ENABLED,
               {"status": [before, stream.status]})
        _emit(stream, events.LIVE_STREAM_ENABLED)
        dashboard.broadcast_on_commit([stream.id])
    return stream


def live_stream_complete(*, stream: LiveStream, actor: Actor) -> LiveStream:
    """End the run now instead of after the reconnect window: the encoder is
    disconnected, the stream goes idle and its recording is processed."""
    with transaction.atomic():
        stream = _locked(stream)
        if stream.status != Status.ACTIVE and not stream.connected:
            raise InvalidTransition("Only an active live stream can be completed.",
                                    code="invalid_state")
        _drop_open_sessions(stream)
        _audit(stream, actor, audit_actions.LIVE_STREAM_COMPLETED,
               {"status": [stream.status, Status.IDLE]})
        if stream.status == Status.ACTIVE:
            transition(stream, LiveStream.TRANSITIONS, Status.IDLE, extra={"active_since": None})
            _end_run(stream, was_active=True)
        else:
            _end_run(stream, was_active=False)
        dashboard.broadcast_on_commit([stream.id])
    return stream


def live_stream_delete(*, stream: LiveStream, actor: Actor) -> None:
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().get(pk=stream.pk)
        if stream.deleted_at:
            return
        was_active = stream.status == Status.ACTIVE
        _drop_open_sessions(stream)
        if was_active:
            transition(stream, LiveStream.TRANSITIONS, Status.IDLE, extra={"active_since": None})
        _end_run(stream, was_active=was_active)
        _emit(stream, events.LIVE_STREAM_DELETED)
        playback_ids = source_playback_ids_delete(source_type=SOURCE_TYPE, source_id=stream.id)
        LiveStream.objects.filter(pk=stream.pk).update(deleted_at=timezone.now(), srt_port=None,
                                                       updated_at=timezone.now())
        _audit(stream, actor, audit_actions.LIVE_STREAM_DELETED,
               {"deleted": [False, True], "playback_ids": [playback_ids, []]})
        dashboard.broadcast_on_commit([stream.id])


def live_playback_id_create(*, stream: LiveStream, policy: str, actor: Actor) -> PlaybackID:
    with transaction.atomic():
        stream = _locked(stream)
        playback_id = source_playback_id_create(environment_id=stream.environment_id,
                                                source_type=SOURCE_TYPE, source_id=stream.id,
                                                policy=policy)
        _audit(stream, actor, media_audit_actions.PLAYBACK_ID_CREATED,
               {"playback_ids": [None, {"id": playback_id.id, "policy": policy}]})
        _emit(stream, events.LIVE_STREAM_UPDATED)
    return playback_id


def live_playback_id_delete(*, playback_id: PlaybackID, actor: Actor) -> None:
    with transaction.atomic():
        stream = LiveStream.objects.get(pk=playback_id.source_id)
        if source_playback_id_delete(playback_id=playback_id):
            _audit(stream, actor, media_audit_actions.PLAYBACK_ID_DELETED,
                   {"playback_ids": [{"id": playback_id.id, "policy": playback_id.policy}, None]})
            _emit(stream, events.LIVE_STREAM_UPDATED)


def simulcast_target_create(*, stream: LiveStream, actor: Actor, url: str, stream_key: str = "",
                            passthrough: str = "") -> SimulcastTarget:
    """A restream destination; it starts with the next publish (or within one report,
    if the stream is live now). Call check_simulcast_url before the transaction."""
    with transaction.atomic():
        stream = _locked(stream)
        target = SimulcastTarget.objects.create(stream=stream, url=url, stream_key=stream_key,
                                                passthrough=passthrough)
        _audit(stream, actor, audit_actions.SIMULCAST_TARGET_CREATED,
               {"simulcast_targets": [None, {"id": target.id, "url": url}]})
        _emit(stream, events.LIVE_STREAM_UPDATED)
        dashboard.broadcast_on_commit([stream.id])
    return target


def simulcast_target_delete(*, target: SimulcastTarget, actor: Actor) -> None:
    with transaction.atomic():
        stream = target.stream
        deleted, _ = SimulcastTarget.objects.filter(pk=target.pk).delete()
        if deleted:
            _audit(stream, actor, audit_actions.SIMULCAST_TARGET_DELETED,
                   {"simulcast_targets": [{"id": target.id, "url": target.url}, None]})
            _emit(stream, events.LIVE_STREAM_UPDATED)
            dashboard.broadcast_on_commit([stream.id])


def check_simulcast_url(url: str) -> None:
    """Refuse a target on a loopback, private or link-local address (unless allowed).

    This resolves the host; call it before any transaction. The ingest resolves again
    when it starts the relay.
    """
    from .ingest.targets import TargetRefused, check_target

    try:
        check_target(url)
    except TargetRefused as exc:
        raise ValidationFailed(str(exc), code="target_refused", errors={"url": [str(exc)]}) from exc


# --- runs and recordings -----------------------------------------------------------
def _start_recording(stream: LiveStream) -> Asset:
    settings_ = dict(stream.new_asset_settings or {})
    settings_.setdefault("title", f"Recording of {stream.id}")
    asset = asset_services.asset_create(environment_id=stream.environment_id, actor=INGEST,
                                        settings=settings_, start_processing=False,
                                        live_stream_id=stream.id)
    stream.recording_asset = asset
    LiveStream.objects.filter(pk=stream.pk).update(recording_asset=asset)
    return asset


def _end_run(stream: LiveStream, *, was_active: bool) -> None:
    """The run is over: say so, and hand its recording to processing after commit."""
    if was_active:
        _emit(stream, events.LIVE_STREAM_IDLE)
    asset_id = stream.recording_asset_id
    LiveStream.objects.filter(pk=stream.pk).update(recording_asset=None, active_since=None,
                                                   disconnected_at=None)
    stream.recording_asset = None
    if asset_id:
        asset = Asset.objects.get(pk=asset_id)
        asset_event(asset, events.ASSET_LIVE_STREAM_COMPLETED)
        enqueue_on_commit("live.tasks.finalise_recording", asset_id)


def live_streams_sweep(now=None) -> list[str]:
    """End the runs whose reconnect window has passed; returns their stream ids."""
    now = now or timezone.now()
    ended = []
    candidates = LiveStream.objects.filter(connected=False, disconnected_at__isnull=False,
                                           deleted_at__isnull=True)
    for stream in candidates:
        if stream.disconnected_at + timedelta(seconds=stream.reconnect_window) > now:
            continue
        with transaction.atomic():
            stream = LiveStream.objects.select_for_update().get(pk=stream.pk)
            if stream.connected or stream.disconnected_at is None:
                continue
            if stream.disconnected_at + timedelta(seconds=stream.reconnect_window) > now:
                continue
            was_active = stream.status == Status.ACTIVE
            if was_active:
                transition(stream, LiveStream.TRANSITIONS, Status.IDLE,
                           extra={"active_since": None})
                _audit(stream, INGEST, audit_actions.LIVE_STREAM_IDLE,
                       {"status": [Status.ACTIVE, Status.IDLE]},
                       message=f"No encoder for {stream.reconnect_window:g} s.")
            _end_run(stream, was_active=was_active)
            dashboard.broadcast_on_commit([stream.id])
        ended.append(stream.id)
    return ended


def health_prune(now=None) -> int:
    cutoff = (now or timezone.now()) - timedelta(hours=settings.LIVE_HEALTH_RETENTION_HOURS)
    deleted, _ = HealthSample.objects.filter(at__lt=cutoff).delete()
    return deleted


# --- the ingest's callbacks ----------------------------------------------------------
class Refused(Exception):
    """A publish the platform does not allow; the message is for the ingest's log."""


def _stream_for_name(name: str) -> LiveStream:
    if not looks_like(name, "lvs"):
        raise Refused("unknown stream")
    stream = LiveStream.objects.filter(pk=name, deleted_at__isnull=True).first()
    if stream is None:
        raise Refused("unknown stream")
    return stream


def ingest_publish(*, node: str, app: str, name: str, client_id: str, address: str,
                   args: dict[str, str]) -> LiveSession:
    """nginx-rtmp's on_publish: allow the encoder, or raise Refused."""
    if app not in INGEST_APPS.values():
        raise Refused(f"unknown application {app!r}")
    stream = _stream_for_name(name)
    via = "rtmp"
    if args.get("relay"):
        if not hmac.compare_digest(args["relay"], relay_token(stream)):
            raise Refused("wrong relay token")
        via = "srt"
    elif not hmac.compare_digest(_hash(args.get("key", "")), stream.key_hash):
        raise Refused("wrong stream key")
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().get(pk=stream.pk)
        if stream.deleted_at:
            raise Refused("unknown stream")
        if stream.status == Status.DISABLED:
            raise Refused("the stream is disabled")
        current = LiveSession.objects.filter(stream=stream, ended_at=None).first()
        if current is None:
            return _open_session_for(stream, node=node, app=app, client_id=client_id,
                                     address=address, via=via)
        replacing = bool((stream.health or {}).get("stalled")) and not current.drop_requested
        if replacing:
            # The connection of an encoder that went away (a dropped network) lingers
            # until nginx-rtmp notices; a new encoder with the key replaces it: the old
            # one is disconnected now and the encoder's next retry gets in.
            LiveSession.objects.filter(pk=current.pk).update(drop_requested=True)
    raise Refused("another encoder is publishing this stream"
                  + ("; it has stalled and is being disconnected" if replacing else ""))


def _open_session_for(stream: LiveStream, *, node: str, app: str, client_id: str,
                      address: str, via: str) -> LiveSession:
    """Within the caller's transaction, with the stream locked."""
    asset = stream.recording_asset
    if stream.records and asset is None:
        asset = _start_recording(stream)
    session = LiveSession.objects.create(stream=stream, node=node[:128], app=app,
                                         client_id=client_id[:32], address=address[:64],
                                         via=via, asset=asset)
    now = timezone.now()
    health = {"connected_at": now.isoformat(), "last_seen_at": now.isoformat()}
    LiveStream.objects.filter(pk=stream.pk).update(connected=True, disconnected_at=None,
                                                   health=health, updated_at=now)
    stream.connected, stream.disconnected_at, stream.health = True, None, health
    _audit(stream, INGEST, audit_actions.LIVE_STREAM_CONNECTED, {"connected": [False, True]},
           message=f"{via.upper()} from {address or 'unknown address'} ({session.id}).")
    _emit(stream, events.LIVE_STREAM_CONNECTED)
    dashboard.broadcast_on_commit([stream.id])
    return session


def _open_session(node: str, client_id: str, name: str) -> LiveSession | None:
    return (LiveSession.objects.select_related("stream")
            .filter(node=node, client_id=client_id, stream_id=name, ended_at=None).first())


def _end_session(session: LiveSession, reason: str) -> None:
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().get(pk=session.stream_id)
        changed = LiveSession.objects.filter(pk=session.pk, ended_at=None).update(
            ended_at=timezone.now(), end_reason=reason)
        if not changed:
            return
        now = timezone.now()
        still_open = LiveSession.objects.filter(stream=stream, ended_at=None).exists()
        if still_open:
            return
        ends_now = bool(stream.deleted_at) or stream.status == Status.DISABLED
        LiveStream.objects.filter(pk=stream.pk).update(
            connected=False, disconnects=stream.disconnects + 1, updated_at=now,
            disconnected_at=None if ends_now else now)
        stream.connected = False
        stream.disconnects += 1
        _audit(stream, INGEST, audit_actions.LIVE_STREAM_DISCONNECTED, {"connected": [True, False]},
               message=f"{session.id}: {reason}.")
        if not stream.deleted_at:
            _emit(stream, events.LIVE_STREAM_DISCONNECTED)
        dashboard.broadcast_on_commit([stream.id])
    if stream.reconnect_window <= 0:
        live_streams_sweep()


def ingest_publish_done(*, node: str, client_id: str, name: str) -> None:
    session = _open_session(node, client_id, name)
    if session is not None:
        _end_session(session, "the encoder stopped")


def ingest_record_done(*, node: str, client_id: str, name: str, path: str) -> None:
    """A session's recording file is complete."""
    session = (LiveSession.objects.filter(node=node, client_id=client_id, stream_id=name)
               .order_by("-id").first())
    if session is None:
        log.warning("a recording for an unknown session of %s on %s", name, node)
        return
    LiveSession.objects.filter(pk=session.pk).update(recording_path=path[:1024])
    if session.asset_id and session.asset_id != LiveStream.objects.filter(
            pk=session.stream_id).values_list("recording_asset_id", flat=True).first():
        # The run ended before this file was complete: its recording can be assembled now.
        enqueue_on_commit("live.tasks.finalise_recording", session.asset_id)
    if session.asset_id is None:
        # This stream does not record: nobody needs the file.
        from .recordings import discard_file

        discard_file(path)


def ingest_update(*, node: str, client_id: str, name: str) -> bool:
    """nginx-rtmp's on_update: False drops the encoder."""
    session = _open_session(node, client_id, name)
    if session is None:
        return False
    stream = session.stream
    return not (session.drop_requested or stream.deleted_at or stream.status == Status.DISABLED)


# --- the ingest's reports ------------------------------------------------------------
_RELAY_STATES = {"starting": TargetStatus.STARTING, "broadcasting": TargetStatus.BROADCASTING,
                 "errored": TargetStatus.ERRORED, "stopped": TargetStatus.IDLE}
_TARGET_EVENTS = {TargetStatus.STARTING: events.SIMULCAST_TARGET_STARTING,
                  TargetStatus.BROADCASTING: events.SIMULCAST_TARGET_BROADCASTING,
                  TargetStatus.ERRORED: events.SIMULCAST_TARGET_ERRORED,
                  TargetStatus.IDLE: events.SIMULCAST_TARGET_IDLE}


def _int(value) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _float(value) -> float | None:
    try:
        return round(float(value), 3) if value is not None else None
    except (TypeError, ValueError):
        return None


def _record_stream_stats(session: LiveSession, stat: dict, now) -> None:
    stream = session.stream
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().get(pk=stream.pk)
        bitrate = max(_int(stat.get("bitrate")) or 0, 0)
        sample = HealthSample.objects.create(
            stream=stream, session=session, at=now, bitrate=bitrate,
            bytes_in=max(_int(stat.get("bytes_in")) or 0, 0),
            frame_rate=_float(stat.get("frame_rate")), width=_int(stat.get("width")),
            height=_int(stat.get("height")), video_codec=str(stat.get("video_codec") or "")[:32],
            audio_codec=str(stat.get("audio_codec") or "")[:32],
            keyframe_interval=_float(stat.get("keyframe_interval")),
            stalled=bool(stat.get("stalled")))
        health = dict(stream.health or {})
        health.update({
            "bitrate": sample.bitrate, "frame_rate": sample.frame_rate, "width": sample.width,
            "height": sample.height, "video_codec": sample.video_codec or None,
            "audio_codec": sample.audio_codec or None, "stalled": sample.stalled,
            "keyframe_interval": sample.keyframe_interval or health.get("keyframe_interval"),
        })
        if not sample.stalled:
            health["last_seen_at"] = now.isoformat()
        session_updates = {"bytes_in": sample.bytes_in}
        ready = bool(stat.get("playlist_ready"))
        if ready and session.playable_at is None:
            session_updates["playable_at"] = now
        LiveSession.objects.filter(pk=session.pk).update(**session_updates)
        LiveStream.objects.filter(pk=stream.pk).update(health=health, updated_at=now)
        stream.health = health
        # A session the platform asked to drop (complete, reset key) must not restart the run.
        if ready and stream.status == Status.IDLE and stream.connected and not session.drop_requested:
            transition(stream, LiveStream.TRANSITIONS, Status.ACTIVE, extra={"active_since": now})
            _audit(stream, INGEST, audit_actions.LIVE_STREAM_ACTIVE,
                   {"status": [Status.IDLE, Status.ACTIVE]})
            _emit(stream, events.LIVE_STREAM_ACTIVE)
        dashboard.broadcast_on_commit([stream.id])


def _record_relay(report: dict) -> None:
    status = _RELAY_STATES.get(str(report.get("state")))
    if status is None:
        return
    with transaction.atomic():
        target = (SimulcastTarget.objects.select_for_update().select_related("stream")
                  .filter(pk=str(report.get("target", ""))).first())
        if target is None:
            return
        error = str(report.get("error") or "")[-2000:]
        fields = {"speed": _float(report.get("speed")), "updated_at": timezone.now()}
        if status == TargetStatus.ERRORED:
            fields["error"] = error
        restarts = _int(report.get("restarts"))
        if restarts is not None:
            fields["restarts"] = restarts
        if target.status == status:
            SimulcastTarget.objects.filter(pk=target.pk).update(**fields)
            return
        if (status in (TargetStatus.BROADCASTING, TargetStatus.ERRORED)
                and target.status == TargetStatus.IDLE):
            # The relay got there (or failed, e.g. its target check) before a report said so.
            transition(target, SimulcastTarget.TRANSITIONS, TargetStatus.STARTING)
        if status == TargetStatus.STARTING and target.status == TargetStatus.BROADCASTING:
            return  # a restart in progress; the relay reports its outcome next
        if not SimulcastTarget.TRANSITIONS.allowed(target.status, status):
            return
        if status == TargetStatus.BROADCASTING:
            fields["error"] = ""
        transition(target, SimulcastTarget.TRANSITIONS, status, extra=fields)
        _target_emit(target, _TARGET_EVENTS[status])
        dashboard.broadcast_on_commit([target.stream_id])


def _targets_idle(stream_ids: list[str] | None = None) -> None:
    """Restream targets of streams with no encoder are idle (their relays are gone)."""
    stale = SimulcastTarget.objects.exclude(status=TargetStatus.IDLE).filter(stream__connected=False)
    if stream_ids is not None:
        stale = stale.filter(stream_id__in=stream_ids)
    for target in stale.select_related("stream"):
        _record_relay({"target": target.id, "state": "stopped"})


def ingest_report(*, node: str, streams: list[dict], relays: list[dict],
                  final: bool = False) -> dict:
    """An ingest node's periodic report: health per publishing stream and the state of
    its relays. The answer is what the node should be running: SRT listeners,
    simulcast relays, and encoders to disconnect. A final report (the node is
    stopping) ends every session still open on it."""
    now = timezone.now()
    lost_before = now if final else now - LOST_AFTER
    seen = set()
    for stat in streams:
        name, client_id = str(stat.get("name", "")), str(stat.get("client_id", ""))
        session = _open_session(node, client_id, name)
        if session is None:
            continue
        seen.add(session.id)
        _record_stream_stats(session, stat, now)
    for session in (LiveSession.objects.select_related("stream")
                    .filter(node=node, ended_at=None, started_at__lt=lost_before)
                    .exclude(pk__in=seen)):
        _end_session(session, "lost: the ingest no longer reports it")
    for relay in relays:
        _record_relay(relay)
    live_streams_sweep(now)
    _targets_idle()
    return desired_state(node)


def desired_state(node: str) -> dict:
    srt = [
        {"stream": s.id, "port": s.srt_port, "passphrase": s.srt_passphrase,
         "app": INGEST_APPS[s.latency_mode], "relay_token": relay_token(s)}
        for s in LiveStream.objects.filter(deleted_at__isnull=True, srt_port__isnull=False)
        .exclude(status=Status.DISABLED).exclude(srt_passphrase="")
    ]
    simulcast, drop = [], []
    for session in (LiveSession.objects.select_related("stream")
                    .filter(node=node, ended_at=None)):
        stream = session.stream
        if session.drop_requested or stream.deleted_at or stream.status == Status.DISABLED:
            drop.append({"app": session.app, "name": stream.id, "client_id": session.client_id})
            continue
        for target in stream.simulcast_targets.all():
            simulcast.append({"target": target.id, "session": session.id, "stream": stream.id,
                              "app": session.app, "server": target.url,
                              "key": target.stream_key})
    return {"srt": srt, "simulcast": simulcast, "drop": drop}
