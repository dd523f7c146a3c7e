"""Who is asking: the client's address, the one answer every rate limit keys on.

With no proxy in front (TRUSTED_PROXY_COUNT=0) it is REMOTE_ADDR, and X-Forwarded-For
is ignored: any client can write that header. Behind N proxies, each appends the
address it received the request from, so the N-th entry from the right was written by
the outermost proxy we trust; entries further left were written by the client and are
not believed.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

# One IPv6 subscriber usually holds a whole /64 and can pick a new address in it for
# every request: limits count the /64, as they count one IPv4 address.
IPV6_PREFIX = 64


def client_address(request) -> str:
    """The client's IP address as text, or "" when the request names none."""
    remote = request.META.get("REMOTE_ADDR") or ""
    trusted = settings.TRUSTED_PROXY_COUNT
    if not trusted:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if not forwarded:
        return remote
    # Fewer entries than proxies: every entry was still written by a proxy.
    return _address(forwarded[-min(trusted, len(forwarded))]) or remote


def limit_key(address: str) -> str:
    """What a limit counts for an address: the address itself, or its IPv6 /64."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX}", strict=False))


def _address(entry: str) -> str | None:
    """An X-Forwarded-For entry as an address; some proxies add the port."""
    if entry.startswith("["):  # [2001:db8::1]:443
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:  # 203.0.113.7:443
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None
