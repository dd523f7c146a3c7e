"""Simulcast relays: one FFmpeg per (simulcast target, publish session), reading the
stream from this node's nginx-rtmp and pushing it to the target.

A relay is `starting` until FFmpeg reports output time, then `broadcasting`; one that
exits is `errored` with FFmpeg's last words (the target's key blanked) and restarted
after a growing wait; one no longer wanted is stopped and reported `stopped` once.
The target's address is checked again just before each start, as DNS answers change.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings

from foundation.processes import ChildProcess

from . import children
from .children import Backoff
from .targets import TargetRefused, check_target

log = logging.getLogger("kino.live.ingest")
RELAY_RW_TIMEOUT_US = 5_000_000

RelayKey = tuple[str, str]  # (target, session)


@dataclass
class Relay:
    spec: dict
    child: ChildProcess | None = None
    state: str = "starting"
    error: str = ""
    restarts: int = 0
    backoff: Backoff = field(default_factory=Backoff)
    reported: str = ""


def relay_url(spec: dict) -> str:
    return spec["server"].rstrip("/") + (f"/{spec['key']}" if spec.get("key") else "")


def redacted(spec: dict, text: str) -> str:
    """FFmpeg names its output URL in errors; the target's key must not travel on."""
    text = text.replace(relay_url(spec), spec["server"] + "/…")
    return text.replace(spec["key"], "…") if spec.get("key") else text


def relay_args(spec: dict, *, rtmp_port: int) -> list[str]:
    source = f"rtmp://127.0.0.1:{rtmp_port}/{spec['app']}/{spec['stream']}"
    return [settings.FFMPEG_BIN, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-rw_timeout", str(RELAY_RW_TIMEOUT_US), "-i", source,
            "-map", "0", "-c", "copy", "-f", "flv",
            "-progress", "pipe:1", "-stats_period", "1", relay_url(spec)]


def reconcile(relays: dict[RelayKey, Relay], specs: list[dict], *, rtmp_port: int) -> None:
    """Run a relay for each spec and none other; restart failed ones when their wait is over."""
    now = time.monotonic()
    wanted = {(s["target"], s["session"]): s for s in specs}
    for key, relay in relays.items():
        if key not in wanted and relay.state != "stopped":
            if relay.child:
                relay.child.stop()
            relay.child, relay.state, relay.error = None, "stopped", ""
    for key, spec in wanted.items():
        relay = relays.get(key)
        if relay is None or relay.state == "stopped":
            relay = relays[key] = Relay(spec=spec)
        if relay.spec != spec and relay.child:
            relay.child.stop()
            relay.child, relay.spec = None, spec
        child = relay.child
        if child is not None and child.alive():
            out_us = child.progress.get("out_time_us") or child.progress.get("out_time_ms")
            if out_us and out_us.isdigit() and int(out_us) > 0 and relay.state != "broadcasting":
                relay.state, relay.error = "broadcasting", ""
                relay.backoff.failures = 0
            continue
        if child is not None:
            relay.state, relay.error = "errored", redacted(spec, child.error())[-1500:]
            relay.backoff.failed(now)
            relay.child = None
            log.warning("relay to %s for %s failed: %s", spec["target"], spec["stream"],
                        relay.error.splitlines()[-1] if relay.error else "")
        if not relay.backoff.ready(now):
            continue
        try:
            check_target(spec["server"])
        except TargetRefused as exc:
            relay.state, relay.error = "errored", str(exc)
            relay.backoff.failed(now)
            continue
        if relay.state == "errored":
            relay.restarts += 1
        relay.child = children.start(relay_args(spec, rtmp_port=rtmp_port), progress=True)
        if relay.state != "errored":
            relay.state = "starting"


def changed(relays: dict[RelayKey, Relay]) -> bool:
    return any(r.state != r.reported for r in relays.values())


def reports(relays: dict[RelayKey, Relay]) -> list[dict]:
    """Each relay as the platform reads it; a stopped one is reported once, then forgotten."""
    found = []
    for key, relay in list(relays.items()):
        progress = relay.child.progress if relay.child else {}
        speed = progress.get("speed", "").rstrip("x")
        found.append({"target": relay.spec["target"], "session": relay.spec["session"],
                      "state": relay.state, "error": relay.error, "restarts": relay.restarts,
                      "speed": speed if speed and speed != "N/A" else None})
        relay.reported = relay.state
        if relay.state == "stopped":
            del relays[key]
    return found
