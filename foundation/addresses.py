"""Which network addresses an outbound request may reach: public ones, or those a
setting allows explicitly. IPv6 forms that lead to an IPv4 address (mapped, 6to4,
Teredo, NAT64) are judged by that address, since that is where the packets go.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def parse_networks(values: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    """Networks from CIDR strings (or networks); raises ValueError on a malformed one."""
    return tuple(v if isinstance(v, ipaddress.IPv4Network | ipaddress.IPv6Network)
                 else ipaddress.ip_network(v.strip(), strict=False) for v in values)


# Loopback and private ranges: what a development or test setting may open up for
# outbound requests that are otherwise public-only (webhooks, simulcast targets).
PRIVATE_NETWORKS = parse_networks([
    "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
    "100.64.0.0/10",
])


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4, Teredo or NAT64 address leads to, if any."""
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_public(ip: IPAddress) -> bool:
    return (ip.is_global and not ip.is_loopback and not ip.is_private
            and not ip.is_link_local and not ip.is_multicast and not ip.is_unspecified
            and not ip.is_reserved)


def is_allowed(ip: IPAddress | str, allowed_networks: Iterable[IPNetwork] = ()) -> bool:
    """May a request go to this address? Public addresses, or those the caller allows."""
    if isinstance(ip, str):
        try:
            ip = ipaddress.ip_address(ip)
        except ValueError:
            return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        # A socket to a mapped address talks IPv4 to the embedded one: judge that alone.
        candidates = [ip.ipv4_mapped]
    elif isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(ip)):
        # 6to4, Teredo and NAT64 reach the embedded IPv4 address through a gateway.
        candidates.append(embedded)
    networks = tuple(allowed_networks)
    for candidate in candidates:
        if any(candidate.version == net.version and candidate in net for net in networks):
            return True
    return all(_is_public(candidate) for candidate in candidates)
