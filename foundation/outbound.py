"""The one way the platform makes HTTP requests to addresses its users give it.

A URL from a user can point anywhere, including at the machine itself, the cloud
metadata service or the private network behind it. Every request therefore:

- accepts only http and https URLs with a host;
- resolves the host once and refuses it unless every address it resolves to is
  public (or inside a network the caller allows explicitly);
- connects to the address it checked, not to the name (a second lookup could answer
  differently: DNS rebinding), while sending the real name in Host and, for https,
  in SNI and certificate verification;
- follows redirects itself, a few at most, checking every hop the same way;
- has connect and read timeouts, and streams the body so callers can stop at a limit.

Errors say what went wrong without repeating credentials from the URL.
"""

from __future__ import annotations

import base64
import logging
import socket
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import SSLError

from .addresses import PRIVATE_NETWORKS, IPNetwork, is_allowed, parse_networks

__all__ = ["PRIVATE_NETWORKS", "is_allowed", "parse_networks", "check_url", "open_url"]

log = logging.getLogger("kino.outbound")


SCHEMES = {"http": 80, "https": 443}
MAX_REDIRECTS = 5
CHUNK = 64 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}


# --- errors -------------------------------------------------------------------------
class OutboundError(Exception):
    """A request that did not give a usable response. `transient`: worth trying later."""

    transient = False

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class OutboundRefused(OutboundError):
    """The guard said no (scheme, missing host, a non-public address). Permanent.

    `reason` is one of "scheme", "host", "address"; `redirected` tells whether the
    refused URL came from a redirect rather than from the caller.
    """

    def __init__(self, message: str, *, reason: str, redirected: bool = False):
        super().__init__(message)
        self.reason = reason
        self.redirected = redirected


class OutboundTooManyRedirects(OutboundError):
    """More redirects than allowed, or a redirect without a Location. Permanent."""


class OutboundHTTPError(OutboundError):
    """The server answered with an error status: 4xx is permanent, 5xx transient."""

    def __init__(self, message: str, *, status: int, excerpt: bytes = b"",
                 headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.excerpt = excerpt
        self.headers: Mapping[str, str] = headers or {}
        self.transient = status >= 500 or status in (408, 429)


class OutboundUnavailable(OutboundError):
    """No answer: name not resolved, connection refused or reset, a timeout. Transient."""

    transient = True


# --- the guard: which addresses a request may go to (foundation/addresses.py) -------


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (addresses) and what to call it (host)."""

    scheme: str
    host: str  # the name as in the URL (no brackets for IPv6 literals)
    port: int
    addresses: tuple[str, ...]
    host_header: str
    path: str
    username: str | None
    password: str | None

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host.lower(), self.port)


def display_url(url: str) -> str:
    """A URL fit for messages and logs: no credentials, no query (it may carry a token)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
    except ValueError:
        return "(malformed URL)"
    if not parts.scheme:
        return "(malformed URL)"
    return f"{parts.scheme}://{netloc}{parts.path}" if netloc else f"{parts.scheme}:{parts.path}"


def _split(url: str, redirected: bool) -> SplitResult:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise OutboundRefused("The URL is malformed.", reason="host", redirected=redirected) from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"{scheme}:" if scheme else "no scheme"
        raise OutboundRefused(f"Only http and https URLs are allowed, not {shown}.",
                              reason="scheme", redirected=redirected)
    if not parts.hostname:
        raise OutboundRefused("The URL has no host.", reason="host", redirected=redirected)
    return parts


def resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to, in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundUnavailable(f"The host {host} could not be resolved.") from exc
    addresses: list[str] = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    if not addresses:
        raise OutboundUnavailable(f"The host {host} could not be resolved.")
    return addresses


def check_url(url: str, *, allowed_networks: Iterable[IPNetwork] = (),
              redirected: bool = False) -> Target:
    """Validate a URL and resolve its host; raises OutboundRefused or OutboundUnavailable."""
    parts = _split(url, redirected)
    scheme = parts.scheme.lower()
    try:
        # Lower-cased, brackets removed, international names in their ASCII form.
        host = parts.hostname if parts.hostname.isascii() else parts.hostname.encode("idna").decode()
    except UnicodeError as exc:
        raise OutboundRefused("The URL's host name is malformed.", reason="host",
                              redirected=redirected) from exc
    if "%" in host:
        # A zone index names an interface of this machine: never a public address.
        raise OutboundRefused("Link-local addresses are not allowed.", reason="address",
                              redirected=redirected)
    port = parts.port or SCHEMES[scheme]
    networks = tuple(allowed_networks)
    addresses = resolve(host, port)
    refused = [a for a in addresses if not is_allowed(a, networks)]
    if refused:
        # Every address must pass: the one we would connect to is the resolver's
        # choice, and a name that is partly private is not a public name.
        log.info("refused %s: %s resolves to %s", display_url(url), host, ", ".join(refused))
        what = (f"The address {host} is" if refused == [host]
                else f"The host {host} resolves to {refused[0]}, which is")
        raise OutboundRefused(f"{what} private or local; only public addresses are allowed.",
                              reason="address", redirected=redirected)
    host_header = f"[{host}]" if ":" in host else host
    if parts.port:
        host_header = f"{host_header}:{parts.port}"
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=scheme, host=host, port=port, addresses=tuple(addresses),
                  host_header=host_header, path=path,
                  username=unquote(parts.username) if parts.username is not None else None,
                  password=unquote(parts.password) if parts.password is not None else None)


# --- requests -----------------------------------------------------------------------
class Response:
    """A response whose body has not been read yet. Use inside `open_url`'s block."""

    def __init__(self, raw: urllib3.BaseHTTPResponse, url: str):
        self._raw = raw
        self.status: int = raw.status
        self.headers: Mapping[str, str] = raw.headers
        self.url = url

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        try:
            length = int(value) if value is not None else None
        except ValueError:
            return None
        return length if length is not None and length >= 0 else None

    def iter_chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        """The body as it arrives (at most `size` bytes a chunk, undecoded); errors while
        reading are OutboundUnavailable."""
        try:
            while chunk := self._raw.read1(size, decode_content=False):
                yield chunk
        except Urllib3Error as exc:
            raise OutboundUnavailable(_describe(exc, self.url)) from exc
        except OSError as exc:
            raise OutboundUnavailable(f"Reading from {display_url(self.url)} failed: "
                                      f"{exc.strerror or type(exc).__name__}.") from exc

    def read(self, limit: int) -> bytes:
        """At most `limit` bytes of the body (for excerpts)."""
        data = bytearray()
        for chunk in self.iter_chunks(min(limit, CHUNK) or 1):
            data += chunk
            if len(data) >= limit:
                break
        return bytes(data[:limit])


def _describe(exc: BaseException, url: str) -> str:
    shown = display_url(url)
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError) and not isinstance(
            exc, urllib3.exceptions.NewConnectionError):
        return f"Connecting to {shown} timed out."
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return f"Could not connect to {shown}: connection refused or unreachable."
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return f"{shown} stopped sending data (read timed out)."
    if isinstance(exc, SSLError):
        return f"The TLS connection to {shown} failed (certificate or handshake)."
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return f"The connection to {shown} broke off before the response was complete."
    return f"The request to {shown} failed ({type(exc).__name__})."


def _pool(target: Target, address: str, *, connect_timeout: float, read_timeout: float,
          ca_certs: str | None) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
    if target.scheme == "https":
        # Connect to the checked address; verify the certificate against the real name.
        return urllib3.HTTPSConnectionPool(
            address, target.port, timeout=timeout, retries=False, maxsize=1,
            cert_reqs="CERT_REQUIRED", ca_certs=ca_certs,
            server_hostname=target.host, assert_hostname=target.host,
        )
    return urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False,
                                      maxsize=1)


def _send(target: Target, url: str, *, method: str, headers: dict[str, str], body: bytes | None,
          connect_timeout: float, read_timeout: float,
          ca_certs: str | None) -> tuple[urllib3.BaseHTTPResponse, urllib3.HTTPConnectionPool]:
    """Send to the first checked address that accepts a connection."""
    last: Exception | None = None
    for address in target.addresses:
        pool = _pool(target, address, connect_timeout=connect_timeout,
                     read_timeout=read_timeout, ca_certs=ca_certs)
        try:
            raw = pool.urlopen(method, target.path, body=body, headers=headers, redirect=False,
                               retries=False, preload_content=False, assert_same_host=False,
                               release_conn=False)
        except urllib3.exceptions.NewConnectionError as exc:
            # Nothing was sent: the next address of the same name may do.
            pool.close()
            last = exc
            continue
        except Urllib3Error as exc:
            pool.close()
            raise OutboundUnavailable(_describe(exc, url)) from exc
        return raw, pool
    assert last is not None
    raise OutboundUnavailable(_describe(last, url)) from last


@contextmanager
def open_url(url: str, *, method: str = "GET", headers: Mapping[str, str] | None = None,
             body: bytes | None = None, connect_timeout: float, read_timeout: float,
             allowed_networks: Iterable[IPNetwork] = (), max_redirects: int = MAX_REDIRECTS,
             ca_certs: str | None = None) -> Iterator[Response]:
    """Request `url` through the guard and yield the final, successful response.

    Raises OutboundRefused, OutboundTooManyRedirects, OutboundHTTPError (status >= 400)
    or OutboundUnavailable. Credentials in the URL are sent as Basic auth to that URL's
    origin only, never to a redirect's other origin.
    """
    networks = tuple(allowed_networks)
    target = check_url(url, allowed_networks=networks)
    origin = target.origin
    auth = _basic_auth(target)
    redirects = 0
    while True:
        request_headers = {"User-Agent": "Kino", "Accept-Encoding": "identity",
                           **(headers or {}), "Host": target.host_header}
        if auth and target.origin == origin:
            request_headers["Authorization"] = auth
        raw, pool = _send(target, url, method=method, headers=request_headers, body=body,
                          connect_timeout=connect_timeout, read_timeout=read_timeout,
                          ca_certs=ca_certs)
        try:
            if raw.status in _REDIRECTS:
                location = raw.headers.get("Location")
                if not location:
                    raise OutboundTooManyRedirects(
                        f"{display_url(url)} answered {raw.status} without a Location.")
                if redirects >= max_redirects:
                    raise OutboundTooManyRedirects(
                        f"{display_url(url)} redirected more than {max_redirects} times.")
                redirects += 1
                if raw.status == 303 or (raw.status in (301, 302) and method == "POST"):
                    method, body = "GET", None
                url = urljoin(url, location)
                log.info("redirect %s to %s", raw.status, display_url(url))
                target = check_url(url, allowed_networks=networks, redirected=True)
                continue
            if raw.status >= 400:
                excerpt = _excerpt(raw)
                raise OutboundHTTPError(f"{display_url(url)} answered {raw.status}.",
                                        status=raw.status, excerpt=excerpt,
                                        headers=raw.headers)
            yield Response(raw, url)
            return
        finally:
            raw.close()
            pool.close()


def _excerpt(raw: urllib3.BaseHTTPResponse, limit: int = 512) -> bytes:
    try:
        return raw.read(limit, decode_content=False) or b""
    except (Urllib3Error, OSError):
        return b""


def _basic_auth(target: Target) -> str | None:
    if target.username is None:
        return None
    token = f"{target.username}:{target.password or ''}".encode()
    return "Basic " + base64.b64encode(token).decode("ascii")
