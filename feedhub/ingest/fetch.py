"""HTTP GET of a feed: conditional headers, redirects we follow ourselves, byte and time caps.

One shared `httpx.AsyncClient` (connection reuse across feeds of a host). Redirects are
followed by hand so that a permanent move (301/308) can update the stored URL while 302/307
do not, and so that a loop ends with words. Every connection goes through `guard`, which
checks the address actually dialled, so redirects and DNS rebinding cannot reach a
private network (issue 5).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urljoin, urlsplit

import httpx

from feedhub.errors import FetchError
from feedhub.ingest.guard import GuardedBackend, guarded_transport
from feedhub.types import FetchResult

__all__ = ["MAX_REDIRECTS", "build_client", "fetch_feed", "user_agent"]

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
_PERMANENT = {301, 308}
_REDIRECTS = {301, 302, 303, 307, 308}


def user_agent() -> str:
    try:
        ver = version("feedhub")
    except PackageNotFoundError:  # running from a source tree
        ver = "0"
    return f"feedhub/{ver} (self-hosted feed reader)"


def build_client(*, allow_private_networks: bool, timeout: float = 20.0) -> httpx.AsyncClient:
    """The one client every fetch shares. Decompression (gzip, deflate, br) is httpx's."""
    transport = guarded_transport(GuardedBackend(allow_private=allow_private_networks))
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=False,
        # Proxies from the environment would bypass the guard; feeds are fetched directly.
        trust_env=False,
        headers={
            "User-Agent": user_agent(),
            "Accept": "application/atom+xml, application/rss+xml, application/feed+json, "
            "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5",
            "Accept-Encoding": "gzip, deflate, br",
        },
    )


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int,
    deadline: float,
) -> FetchResult:
    """GET `url` within `deadline` seconds in total; raise FetchError in words on failure."""
    try:
        async with asyncio.timeout(deadline):
            return await _fetch(client, url, etag, last_modified, max_bytes)
    except TimeoutError:
        raise FetchError(f"timed out: no complete answer within {deadline:g} s") from None


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
) -> FetchResult:
    conditional: dict[str, str] = {}
    if etag:
        conditional["If-None-Match"] = etag
    if last_modified:
        conditional["If-Modified-Since"] = last_modified
    current = url
    seen = {url}
    permanent_url: str | None = None
    all_permanent = True
    for _hop in range(MAX_REDIRECTS + 1):
        _check_scheme(current)
        try:
            async with client.stream("GET", current, headers=conditional) as response:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    target = urljoin(current, response.headers["location"])
                    if target in seen:
                        raise FetchError(
                            f"redirect loop: {current} redirects back to {target}",
                            status=response.status_code,
                        )
                    seen.add(target)
                    if response.status_code in _PERMANENT and all_permanent:
                        permanent_url = target
                    else:
                        all_permanent = False
                    current = target
                    continue
                headers = {k.lower(): v for k, v in response.headers.items()}
                fetched_at = datetime.now(UTC)
                if response.status_code == 304:
                    return _result(url, current, 304, headers, None, fetched_at, permanent_url)
                if response.status_code != 200:
                    raise FetchError(
                        _status_words(response.status_code, response.reason_phrase),
                        status=response.status_code,
                        retry_after=headers.get("retry-after"),
                    )
                body = await _read_capped(response, max_bytes)
                return _result(url, current, 200, headers, body, fetched_at, permanent_url)
        except httpx.HTTPError as exc:
            raise FetchError(_transport_words(exc)) from None
    raise FetchError(f"too many redirects: more than {MAX_REDIRECTS} starting at {url}")


def _result(
    url: str,
    final_url: str,
    status: int,
    headers: dict[str, str],
    body: bytes | None,
    fetched_at: datetime,
    permanent_url: str | None,
) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=final_url,
        status=status,
        headers=headers,
        body=body,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        fetched_at=fetched_at,
        permanent_url=permanent_url,
    )


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """Read the decoded body, stopping as soon as it passes the cap (a gzip bomb stops here)."""
    declared = response.headers.get("content-length")
    encoded = response.headers.get("content-encoding", "identity") != "identity"
    if declared and declared.isdigit() and not encoded and int(declared) > max_bytes:
        raise FetchError(f"too large: {int(declared)} bytes declared, the limit is {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"too large: the body passed the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _check_scheme(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"refused: only http and https URLs are fetched, not {scheme or 'none'!r}")


def _status_words(status: int, reason: str) -> str:
    words = {
        401: "the server asks for a login",
        403: "the server refused access",
        404: "the feed was not found at this URL",
        410: "the feed is gone for good",
        429: "the server says too many requests",
        500: "the server had an internal error",
        502: "bad gateway in front of the server",
        503: "the server is unavailable",
        504: "gateway timeout in front of the server",
    }.get(status, reason or "unexpected answer")
    return f"HTTP {status}: {words}"


def _transport_words(exc: httpx.HTTPError) -> str:
    text = str(exc) or exc.__class__.__name__
    if "refused by the network guard" in text:
        return text
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out: {exc.__class__.__name__}"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {text}"
    if isinstance(exc, httpx.DecodingError):
        return f"could not decode the body: {text}"
    return f"network error: {text}"


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    return headers.get(name.lower())
