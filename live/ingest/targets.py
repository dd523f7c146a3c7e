"""Where a simulcast relay may send a stream: public addresses only, unless allowed.

Checked when a target is created (in the API request) and again by the ingest just
before each relay starts, since DNS answers change. FFmpeg then resolves the name
itself, so a name that changes its answer within that moment is not caught; RTMPS
needs the name for TLS, which rules out connecting to the checked address instead.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from foundation import outbound


class TargetRefused(Exception):
    pass


def check_target(url: str) -> list[str]:
    """The addresses the target's host resolves to; raises TargetRefused."""
    parts = urlsplit(url)
    if parts.scheme not in ("rtmp", "rtmps") or not parts.hostname:
        raise TargetRefused("A simulcast target is an rtmp:// or rtmps:// URL.")
    try:
        port = parts.port or (443 if parts.scheme == "rtmps" else 1935)
    except ValueError as exc:
        raise TargetRefused("The URL's port is not a number.") from exc
    try:
        addresses = outbound.resolve(parts.hostname, port)
    except outbound.OutboundUnavailable as exc:
        raise TargetRefused(f"The host {parts.hostname} could not be resolved.") from exc
    allowed = outbound.PRIVATE_NETWORKS if settings.SIMULCAST_ALLOW_PRIVATE_TARGETS else ()
    if not all(outbound.is_allowed(a, allowed) for a in addresses):
        raise TargetRefused("The URL points to a private or local address; simulcast targets "
                            "must be public.")
    return addresses
