"""nginx-rtmp's callbacks: publish (authorise the encoder), publish done, record done,
update (keep or drop the encoder)."""

from __future__ import annotations

import hmac
import logging

from django.db import transaction
from django.utils import timezone

from foundation import metrics
from foundation.ids import looks_like
from foundation.usage import services as usage
from foundation.usage.models import Metric

from .. import audit_actions, dashboard, events
from ..api.serializers import INGEST_APPS
from ..models import LiveSession, LiveStream
from .keys import relay_token, secret_hash
from .records import INGEST, stream_audit, stream_event
from .runs import run_start_recording
from .streams import live_streams_sweep

log = logging.getLogger("kino.live")
Status = LiveStream.Status


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
    elif not hmac.compare_digest(secret_hash(args.get("key", "")), stream.key_hash):
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
        asset = run_start_recording(stream)
    session = LiveSession.objects.create(stream=stream, node=node[:128], app=app,
                                         client_id=client_id[:32], address=address[:64],
                                         via=via, asset=asset)
    now = timezone.now()
    health = {"connected_at": now.isoformat(), "last_seen_at": now.isoformat()}
    LiveStream.objects.filter(pk=stream.pk).update(connected=True, disconnected_at=None,
                                                   health=health, updated_at=now)
    stream.connected, stream.disconnected_at, stream.health = True, None, health
    stream_audit(stream, INGEST, audit_actions.LIVE_STREAM_CONNECTED,
                 {"connected": [False, True]},
                 message=f"{via.upper()} from {address or 'unknown address'} ({session.id}).")
    stream_event(stream, events.LIVE_STREAM_CONNECTED)
    dashboard.broadcast_on_commit([stream.id])
    metrics.on_commit(metrics.LIVE_CONNECTS.labels(via).inc)
    return session


def open_session(node: str, client_id: str, name: str) -> LiveSession | None:
    """The session a node's encoder (its client id, its stream) is publishing in."""
    return (LiveSession.objects.select_related("stream")
            .filter(node=node, client_id=client_id, stream_id=name, ended_at=None).first())


def session_end(session: LiveSession, reason: str, *, kind: str = "stopped") -> None:
    """The encoder left (or the ingest lost it); the last one to leave disconnects the
    stream, whose run then ends after its reconnect window. `kind` (stopped, lost)
    counts it in GET /metrics."""
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().get(pk=session.stream_id)
        ended_at = timezone.now()
        changed = LiveSession.objects.filter(pk=session.pk, ended_at=None).update(
            ended_at=ended_at, end_reason=reason)
        if not changed:
            return
        metrics.on_commit(metrics.LIVE_DISCONNECTS.labels(kind).inc)
        usage.span_record(key=f"live_session:{session.id}", environment_id=stream.environment_id,
                          metric=Metric.LIVE_MS, start=session.started_at, end=ended_at)
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
        stream_audit(stream, INGEST, audit_actions.LIVE_STREAM_DISCONNECTED,
                     {"connected": [True, False]}, message=f"{session.id}: {reason}.")
        if not stream.deleted_at:
            stream_event(stream, events.LIVE_STREAM_DISCONNECTED)
        dashboard.broadcast_on_commit([stream.id])
    if stream.reconnect_window <= 0:
        live_streams_sweep()


def ingest_publish_done(*, node: str, client_id: str, name: str) -> None:
    session = open_session(node, client_id, name)
    if session is not None:
        session_end(session, "the encoder stopped")


def ingest_record_done(*, node: str, client_id: str, name: str, path: str) -> None:
    """A session's recording file is complete."""
    session = (LiveSession.objects.filter(node=node, client_id=client_id, stream_id=name)
               .order_by("-id").first())
    if session is None:
        log.warning("a recording for an unknown session of %s on %s", name, node)
        return
    # The node is asked to store it (or, if the stream does not record, to remove it) in
    # the answer to its next report; see live/recordings.py.
    LiveSession.objects.filter(pk=session.pk).update(recording_path=path[:1024])


def ingest_update(*, node: str, client_id: str, name: str) -> bool:
    """nginx-rtmp's on_update: False drops the encoder."""
    session = open_session(node, client_id, name)
    if session is None:
        return False
    stream = session.stream
    return not (session.drop_requested or stream.deleted_at or stream.status == Status.DISABLED)
