"""The SSRF guard: never connect to loopback, private, link-local or other internal addresses.

The check runs on the address actually dialled, inside httpcore's network backend: the host
is resolved here, every address checked, and the connection made to the checked address.
A redirect to an internal host, or a name that re-resolves to one (DNS rebinding), is
refused the same way as a URL typed in. TLS still verifies the original host name, since
httpcore passes it to `start_tls` separately.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import certifi
import httpcore
import httpx

from feedhub.core.errors import ValidationError
from feedhub.core.urls import normalize_feed_url, parse_web_url

__all__ = [
    "BlockedAddressError",
    "GuardedBackend",
    "check_feed_url",
    "guarded_transport",
    "is_public_address",
]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedAddressError(httpcore.ConnectError):
    pass


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True only for globally routable unicast addresses."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public_address(ip.ipv4_mapped)
        if ip in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None:
            return is_public_address(ip.sixtofour)
    if ip.version == 4 and ip in _CGNAT:
        return False
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_unspecified
        or ip.is_reserved
        or not ip.is_global
    )


async def _resolve(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"could not resolve {host}: {exc.strerror}") from None
    except UnicodeError:  # an invalid international name ("a..b", a 70-letter label)
        raise httpcore.ConnectError(f"could not resolve {host}: not a valid host name") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _literal_address(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _is_localhost_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def _blocked(host: str, addresses: Iterable[str]) -> str | None:
    for address in addresses:
        if not is_public_address(ipaddress.ip_address(address.split("%")[0])):
            return (
                f"refused by the network guard: {host} resolves to {address}, a private or "
                "internal address (set FEEDHUB_ALLOW_PRIVATE_NETWORKS=true to allow it)"
            )
    return None


class _CachedSocketStream(httpcore.AsyncNetworkStream):
    """A stream that answers httpcore's "is_readable" from a socket looked up once.

    httpcore's pool asks every idle connection whether it is readable on every request and
    every response close; anyio answers by rebuilding its whole attribute dict each time,
    which was the largest single cost of a 304 poll (benchmarks/README.md, Ingest).
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        return _CachedSocketStream(
            await self._inner.start_tls(ssl_context, server_hostname, timeout)
        )

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return _readable(self._socket)
        if info == "socket":
            return self._socket
        return self._inner.get_extra_info(info)


def _readable(sock: socket.socket | None) -> bool:
    """Data (or EOF) waiting: an idle keep-alive connection the server has closed."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check, then dial the checked address."""

    def __init__(
        self, *, allow_private: bool, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.allow_private = allow_private
        # `inner` dials the checked address; tests pass a dialler that records every dial.
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self.allow_private:
            return _CachedSocketStream(
                await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
            )
        addresses = await _resolve(host, port)
        if reason := _blocked(host, addresses):
            raise BlockedAddressError(reason)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return _CachedSocketStream(
                    await self._inner.connect_tcp(
                        address, port, timeout, local_address, socket_options
                    )
                )
            except httpcore.ConnectError as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("refused by the network guard: unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The process's one client TLS context: certifi's roots, Python's secure defaults.

    Loading the roots costs tens of milliseconds of CPU; a context is safe to share between
    clients and threads. The only change made to it later is httpcore setting its ALPN list
    on each TLS connection, the same list every time (HTTP/1.1 only: http2 is off).
    """
    return ssl.create_default_context(cafile=certifi.where())


def guarded_transport(backend: GuardedBackend) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connection pool dials through `backend`.

    httpx has no public parameter for a network backend, so the pool is built here with
    the settings httpx would use; tests/integration/test_ssrf_guard.py shows the guard is
    really in the path.
    """
    # Given the context, httpx does not build (and at once discard) one of its own.
    transport = httpx.AsyncHTTPTransport(verify=_tls_context(), retries=0)
    # `_pool` is private to httpx: pyproject.toml pins httpx to the minor versions this was
    # tested with (0.27, 0.28; httpcore 1.x). Widen the pin only once
    # tests/integration/test_ssrf_guard.py passes on the new httpx.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=_tls_context(),
        max_connections=100,
        # Polls of one host are minutes apart, so only a burst (a refresh of many feeds of
        # one host) reuses connections; few are worth keeping.
        max_keepalive_connections=10,
        keepalive_expiry=5.0,
        http1=True,
        http2=False,
        network_backend=backend,
    )
    return transport


async def check_feed_url(url: str, *, allow_private: bool, resolve: bool = True) -> str:
    """Validate a feed URL typed by an admin; returns it normalized (`normalize_feed_url`:
    the form the uniqueness check compares), raises ValidationError.

    `resolve=False` (an OPML import, perhaps made offline) checks only what the URL itself
    says: an address literal or a localhost name. Its host name is looked up when the feed
    is polled, and the connection is checked again then, on the address dialled (an
    offline import would refuse all 207 feeds of a real export as "could not resolve").
    """
    url = url.strip()
    parsed = parse_web_url(url)
    if isinstance(parsed, str):
        raise ValidationError(parsed)
    hostname, port = parsed.hostname, parsed.port
    url = normalize_feed_url(url)
    if allow_private:
        return url
    if not resolve:
        literal = _literal_address(hostname)
        if literal is None:
            try:  # what a lookup would refuse first: empty or over-long labels
                hostname.encode("idna")
            except UnicodeError:
                raise ValidationError(f"{url!r}: {hostname} is not a valid host name") from None
        if literal is None and not _is_localhost_name(hostname):
            return url
        reason = _blocked(hostname, [literal or "127.0.0.1"])
        if reason:
            raise ValidationError(reason)
        return url
    try:
        addresses = await _resolve(hostname, port)
    except httpcore.ConnectError as exc:
        raise ValidationError(str(exc)) from None
    if reason := _blocked(hostname, addresses):
        raise ValidationError(reason)
    return url
