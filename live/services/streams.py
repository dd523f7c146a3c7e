"""A live stream's states, and the API's operations on streams and their playback IDs.

Every transition of a stream is made here: `idle` → `active` when the encoder's first
playlist is written (live_stream_go_active), back to `idle` when the run ends (the
reconnect window passed: live_streams_sweep; or completed, disabled, deleted), and in
and out of `disabled`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from foundation.audit import diff
from foundation.context import Actor
from foundation.errors import Conflict, InvalidTransition
from foundation.statemachine import transition
from media_core import audit_actions as media_audit_actions
from media_core.models import PlaybackID
from media_core.services.playback_ids import (
    playback_id_make,
    playback_id_remove,
    playback_ids_remove_all,
)

from .. import audit_actions, dashboard, events
from ..delivery import SOURCE_TYPE
from ..models import LiveSession, LiveStream
from .keys import allocate_srt_port, new_key, new_srt_passphrase, stream_key
from .records import INGEST, stream_audit, stream_event
from .runs import run_end

Status = LiveStream.Status


def _editable(stream: LiveStream) -> dict[str, Any]:
    return {"name": stream.name, "latency_mode": stream.latency_mode, "reconnect_window": stream.reconnect_window,
            "new_asset_settings": stream.new_asset_settings, "passthrough": stream.passthrough}


def locked_stream(stream: LiveStream) -> LiveStream:
    """The stream, locked for the caller's transaction; Conflict if it was deleted."""
    stream = LiveStream.objects.select_for_update().get(pk=stream.pk)
    if stream.deleted_at:
        raise Conflict("The live stream was deleted.", code="live_stream_deleted")
    return stream


def _drop_open_sessions(stream: LiveStream) -> int:
    """Ask the ingest to disconnect the encoder (it does so within one report)."""
    return LiveSession.objects.filter(stream=stream, ended_at=None).update(drop_requested=True)


# --- the API's operations ----------------------------------------------------------
def live_stream_create(*, environment_id: str, actor: Actor, playback_policy: list[str],
                       new_asset_settings: dict | None, reconnect_window: float,
                       latency_mode: str, passthrough: str = "",
                       name: str = "") -> tuple[LiveStream, str]:
    """A new idle stream; returns it with its stream key (shown this once). Unnamed, it is
    named after the time it was made."""
    secret, key_hash = new_key()
    name = name.strip() or default_name()
    with transaction.atomic():
        stream = LiveStream.objects.create(
            environment_id=environment_id, name=name, latency_mode=latency_mode,
            reconnect_window=reconnect_window, new_asset_settings=new_asset_settings,
            passthrough=passthrough, key_hash=key_hash, srt_passphrase=new_srt_passphrase())
        allocate_srt_port(stream)
        for policy in playback_policy:
            playback_id_make(environment_id=environment_id, source_type=SOURCE_TYPE,
                             source_id=stream.id, policy=policy)
        stream_audit(stream, actor, audit_actions.LIVE_STREAM_CREATED,
                     diff({}, {"status": stream.status, **_editable(stream)}))
        stream_event(stream, events.LIVE_STREAM_CREATED)
        dashboard.broadcast_on_commit([stream.id])
    return stream, stream_key(stream, secret)


def default_name() -> str:
    return f"Live stream of {timezone.now():%Y-%m-%d %H:%M}"


def live_stream_update(*, stream: LiveStream, actor: Actor, **fields) -> LiveStream:
    if "name" in fields:
        fields["name"] = fields["name"].strip() or stream.name
    editable = {"name", "latency_mode", "reconnect_window", "new_asset_settings", "passthrough"}
    unknown = set(fields) - editable
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        stream = locked_stream(stream)
        before = _editable(stream)
        for name, value in fields.items():
            setattr(stream, name, value)
        changes = diff(before, _editable(stream))
        if changes:
            stream.save(update_fields=[*fields, "updated_at"])
            stream_audit(stream, actor, audit_actions.LIVE_STREAM_UPDATED, changes)
            stream_event(stream, events.LIVE_STREAM_UPDATED)
            dashboard.broadcast_on_commit([stream.id])
    return stream


def live_stream_reset_key(*, stream: LiveStream, actor: Actor) -> tuple[LiveStream, str]:
    """A new stream key and SRT passphrase; an encoder using the old ones is disconnected."""
    secret, key_hash = new_key()
    with transaction.atomic():
        stream = locked_stream(stream)
        stream.key_hash = key_hash
        stream.key_generation += 1
        stream.srt_passphrase = new_srt_passphrase()
        stream.save(update_fields=["key_hash", "key_generation", "srt_passphrase", "updated_at"])
        dropped = _drop_open_sessions(stream)
        stream_audit(stream, actor, audit_actions.LIVE_STREAM_KEY_RESET,
                     {"stream_key": ["(old)", "(new)"]},
                     message="The connected encoder is disconnected." if dropped else "")
    return stream, stream_key(stream, secret)


def live_stream_disable(*, stream: LiveStream, actor: Actor) -> LiveStream:
    """Refuse publishing; a connected encoder is disconnected and its run ends now."""
    with transaction.atomic():
        stream = locked_stream(stream)
        if stream.status == Status.DISABLED:
            return stream
        before = transition(stream, LiveStream.TRANSITIONS, Status.DISABLED)
        _drop_open_sessions(stream)
        stream_audit(stream, actor, audit_actions.LIVE_STREAM_DISABLED,
                     {"status": [before, stream.status]})
        run_end(stream, was_active=before == Status.ACTIVE)
        stream_event(stream, events.LIVE_STREAM_DISABLED)
        dashboard.broadcast_on_commit([stream.id])
    return stream


def live_stream_enable(*, stream: LiveStream, actor: Actor) -> LiveStream:
    with transaction.atomic():
        stream = locked_stream(stream)
        if stream.status != Status.DISABLED:
            return stream
        before = transition(stream, LiveStream.TRANSITIONS, Status.IDLE)
        stream_audit(stream, actor, audit_actions.LIVE_STREAM_ENABLED,
                     {"status": [before, stream.status]})
        stream_event(stream, events.LIVE_STREAM_ENABLED)
        dashboard.broadcast_on_commit([stream.id])
    return stream


def live_stream_complete(*, stream: LiveStream, actor: Actor) -> LiveStream:
    """End the run now instead of after the reconnect window: the encoder is
    disconnected, the stream goes idle and its recording is processed."""
    with transaction.atomic():
        stream = locked_stream(stream)
        if stream.status != Status.ACTIVE and not stream.connected:
            raise InvalidTransition("Only an active live stream can be completed.",
                                    code="invalid_state")
        _drop_open_sessions(stream)
        stream_audit(stream, actor, audit_actions.LIVE_STREAM_COMPLETED,
                     {"status": [stream.status, Status.IDLE]})
        if stream.status == Status.ACTIVE:
            transition(stream, LiveStream.TRANSITIONS, Status.IDLE, extra={"active_since": None})
            run_end(stream, was_active=True)
        else:
            run_end(stream, was_active=False)
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
        run_end(stream, was_active=was_active)
        stream_event(stream, events.LIVE_STREAM_DELETED)
        playback_ids = playback_ids_remove_all(source_type=SOURCE_TYPE, source_id=stream.id)
        LiveStream.objects.filter(pk=stream.pk).update(deleted_at=timezone.now(), srt_port=None,
                                                       updated_at=timezone.now())
        stream_audit(stream, actor, audit_actions.LIVE_STREAM_DELETED,
                     {"deleted": [False, True], "playback_ids": [playback_ids, []]})
        dashboard.broadcast_on_commit([stream.id])


def live_playback_id_create(*, stream: LiveStream, policy: str, actor: Actor) -> PlaybackID:
    with transaction.atomic():
        stream = locked_stream(stream)
        playback_id = playback_id_make(environment_id=stream.environment_id,
                                       source_type=SOURCE_TYPE, source_id=stream.id, policy=policy)
        stream_audit(stream, actor, media_audit_actions.PLAYBACK_ID_CREATED,
                     {"playback_ids": [None, {"id": playback_id.id, "policy": policy}]})
        stream_event(stream, events.LIVE_STREAM_UPDATED)
    return playback_id


def live_playback_id_delete(*, playback_id: PlaybackID, actor: Actor) -> None:
    with transaction.atomic():
        stream = LiveStream.objects.get(pk=playback_id.source_id)
        if playback_id_remove(playback_id=playback_id):
            stream_audit(stream, actor, media_audit_actions.PLAYBACK_ID_DELETED,
                         {"playback_ids": [{"id": playback_id.id, "policy": playback_id.policy},
                                           None]})
            stream_event(stream, events.LIVE_STREAM_UPDATED)


# --- what the ingest reports -------------------------------------------------------
def live_stream_go_active(*, stream: LiveStream, session: LiveSession, now: datetime) -> bool:
    """The stream is on air: the encoder's first playlist is written.

    Within the caller's transaction, with the stream locked. False, changing nothing,
    unless the stream is idle with an encoder connected, and that encoder's session is
    not one the platform asked to drop (complete, reset key): it must not restart the run.
    """
    if stream.status != Status.IDLE or not stream.connected or session.drop_requested:
        return False
    with transaction.atomic():
        transition(stream, LiveStream.TRANSITIONS, Status.ACTIVE, extra={"active_since": now})
        stream_audit(stream, INGEST, audit_actions.LIVE_STREAM_ACTIVE,
                     {"status": [Status.IDLE, Status.ACTIVE]})
        stream_event(stream, events.LIVE_STREAM_ACTIVE)
    return True


def live_streams_sweep(now: datetime | None = None) -> list[str]:
    """End the runs whose reconnect window has passed (the stream goes back to idle);
    returns their stream ids."""
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
                stream_audit(stream, INGEST, audit_actions.LIVE_STREAM_IDLE,
                             {"status": [Status.ACTIVE, Status.IDLE]},
                             message=f"No encoder for {stream.reconnect_window:g} s.")
            run_end(stream, was_active=was_active)
            dashboard.broadcast_on_commit([stream.id])
        ended.append(stream.id)
    return ended
