"""The ingest nodes' reports: a health sample per publishing stream, the state of each
relay; the answer is what the node should run."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from foundation import metrics

from .. import dashboard
from ..api.serializers import INGEST_APPS
from ..models import HealthSample, IngestNode, LiveSession, LiveStream, SimulcastTarget
from ..recordings import recordings_stored, recordings_to_store
from .callbacks import open_session, session_end
from .keys import relay_token
from .simulcast import simulcast_target_record_relay, simulcast_targets_idle_without_encoder
from .streams import live_stream_go_active, live_streams_sweep

Status = LiveStream.Status
TargetStatus = SimulcastTarget.Status
# A session older than this that its node's report no longer lists ended without a
# callback (the node lost it, or restarted).
LOST_AFTER = timedelta(seconds=10)
# The answer to a node's report names a run that ended on it for this long, so a node
# that missed a few answers still removes its live HLS (it clears all at its start too).
ENDED_RUNS_FOR = timedelta(minutes=10)
# Why such a session ended (its end_reason); the system status page counts them.
LOST_REASON = "lost: the ingest no longer reports it"
_HLS_URL_RE = re.compile(r"^https?://[A-Za-z0-9.:\[\]-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$")
_RELAY_STATES = {"starting": TargetStatus.STARTING, "broadcasting": TargetStatus.BROADCASTING,
                 "errored": TargetStatus.ERRORED, "stopped": TargetStatus.IDLE}


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


def _record_health_sample(session: LiveSession, stat: dict, now: datetime) -> None:
    """A sample of the stream's health; the first playlist written puts it on air."""
    stream = session.stream
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().get(pk=stream.pk)
        bitrate = max(_int(stat.get("bitrate")) or 0, 0)
        metrics.LIVE_BITRATE.observe(bitrate)
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
        if ready:
            live_stream_go_active(stream=stream, session=session, now=now)
        dashboard.broadcast_on_commit([stream.id])


def _record_relay(report: dict) -> None:
    status = _RELAY_STATES.get(str(report.get("state")))
    if status is None:
        return
    simulcast_target_record_relay(
        target_id=str(report.get("target", "")), status=status,
        error=str(report.get("error") or "")[-2000:], speed=_float(report.get("speed")),
        restarts=_int(report.get("restarts")))


def _record_node_report(node: str, streams: list[dict], now: datetime, final: bool,
                        hls_url: str) -> None:
    """The node's row says when it last reported, with how many streams, whether that
    report was its last, and where it serves its HLS: one UPDATE a report, an INSERT on
    its first."""
    fields = {"last_report_at": now, "stopped_at": now if final else None,
              "streams": len({str(stat.get("name", "")) for stat in streams}),
              "hls_url": hls_url if _HLS_URL_RE.match(hls_url) else ""}
    # Only forward in time: a report answered late (the node gave up on it and sent the
    # next, or its final one) must not overwrite what a newer report said.
    newer = IngestNode.objects.filter(name=node, last_report_at__lte=now)
    if newer.update(**fields):
        return
    try:
        with transaction.atomic():
            IngestNode.objects.create(name=node, first_seen_at=now, **fields)
    except IntegrityError:
        # The row is there: a newer report holds it, or another first report inserted
        # it a moment ago.
        newer.update(**fields)


def ingest_report(*, node: str, streams: list[dict], relays: list[dict],
                  recordings: list[dict] = (), final: bool = False, hls_url: str = "") -> dict:
    """An ingest node's periodic report: health per publishing stream, the state of
    its relays, the recordings it stored. The answer is what the node should be
    running: SRT listeners, simulcast relays, encoders to disconnect, recordings to
    store. A final report (the node is stopping) ends every session still open on it."""
    now = timezone.now()
    _record_node_report(node, streams, now, final, hls_url)
    lost_before = now if final else now - LOST_AFTER
    seen = set()
    for stat in streams:
        name, client_id = str(stat.get("name", "")), str(stat.get("client_id", ""))
        session = open_session(node, client_id, name)
        if session is None:
            continue
        seen.add(session.id)
        _record_health_sample(session, stat, now)
    for session in (LiveSession.objects.select_related("stream")
                    .filter(node=node, ended_at=None, started_at__lt=lost_before)
                    .exclude(pk__in=seen)):
        session_end(session, LOST_REASON, kind="lost")
    for relay in relays:
        _record_relay(relay)
    recordings_stored(node, recordings)
    silent_nodes_sweep(now, besides=node)  # another node that went silent meanwhile
    live_streams_sweep(now)
    simulcast_targets_idle_without_encoder()
    return desired_state(node)


def silent_nodes_sweep(now: datetime | None = None, *, besides: str = "") -> list[str]:
    """The nodes that stopped reporting without a final report (the machine died, its
    network was cut): their open sessions end as lost, so the streams disconnect and,
    after their reconnect window, go idle, with the events and audit entries of any
    disconnect. Run by every report of another node (every few seconds while one runs)
    and by the live housekeeping schedule (every minute). Returns the sessions ended."""
    now = now or timezone.now()
    silent = (IngestNode.objects.filter(stopped_at=None, last_report_at__lt=now - LOST_AFTER)
              .exclude(name=besides).values("name"))
    ended = []
    # One query, the silent nodes a subquery of it: a report pays one SELECT for this.
    for session in (LiveSession.objects.select_related("stream")
                    .filter(ended_at=None, node__in=silent)):
        session_end(session, LOST_REASON, kind="lost")
        ended.append(session.id)
    return ended


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
    return {"srt": srt, "simulcast": simulcast, "drop": drop,
            "recordings": recordings_to_store(node), "ended": runs_ended(node)}


def runs_ended(node: str) -> list[dict]:
    """The streams whose runs on this node ended lately (they are not active: the
    reconnect window passed): the node removes their live HLS."""
    since = timezone.now() - ENDED_RUNS_FOR
    ended = (LiveSession.objects.filter(node=node, ended_at__gte=since)
             .exclude(stream__status=Status.ACTIVE).values_list("app", "stream_id").distinct())
    return [{"app": app, "name": name} for app, name in ended]


def health_prune(now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(hours=settings.LIVE_HEALTH_RETENTION_HOURS)
    deleted, _ = HealthSample.objects.filter(at__lt=cutoff).delete()
    return deleted
