"""HTTP GET of a feed: conditional headers, redirects we follow ourselves, byte and time caps.

One shared `httpx.AsyncClient` (connection reuse across feeds of a host). Redirects are
followed by hand so that a permanent move (301/308) can update the stored URL while 302/307
do not, and so that a loop ends with words. Every connection goes through `guard`, which
checks the address actually dialled, so redirects and DNS rebinding cannot reach a
private network.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urljoin

import httpx

from feedhub.core.errors import FetchError
from feedhub.core.types import FetchResult
from feedhub.core.urls import WEB_SCHEMES, RedactingFilter, split_url
from feedhub.ingest.guard import GuardedBackend, guarded_transport

try:  # httpx[brotli]; only a decoder whose output can be bounded is used (see _Decoder)
    import brotli as _brotli  # type: ignore[import-untyped,unused-ignore]
except ImportError:  # pragma: no cover - brotli is a declared dependency
    _brotli = None

__all__ = ["MAX_REDIRECTS", "build_client", "fetch_feed", "user_agent"]

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
_PERMANENT = {301, 308}
_REDIRECTS = {301, 302, 303, 307, 308}
# Decoded output per decompression step: a gzip bomb inflates ~1000:1, so one 64 KiB read
# decoded at once (what httpx's own decoders do) is ~64 MB in memory before any cap can
# look at it. We decode ourselves in steps of this size instead (hostile input).
_DECODE_STEP = 64 * 1024
# brotli >= 1.2 can bound its output; an older one is not offered to servers at all.
_BOUNDED_BROTLI = _brotli is not None and hasattr(_brotli.Decompressor, "can_accept_more_data")
_ACCEPT_ENCODING = "gzip, deflate, br" if _BOUNDED_BROTLI else "gzip, deflate"
_DECODE_ERRORS: tuple[type[Exception], ...] = (zlib.error, ValueError) + (
    (_brotli.error,) if _brotli is not None else ()
)


def user_agent() -> str:
    try:
        ver = version("feedhub")
    except PackageNotFoundError:  # running from a source tree
        ver = "0"
    return f"feedhub/{ver} (self-hosted feed reader)"


def _redact_http_logs() -> None:
    """httpx logs every request's full URL at INFO: credentials and `?token=` included.
    Its lines go through the one URL redaction; idempotent."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


def build_client(*, allow_private_networks: bool, timeout: float = 20.0) -> httpx.AsyncClient:
    """The one client every fetch shares. Decompression (gzip, deflate, br) is httpx's."""
    transport = guarded_transport(GuardedBackend(allow_private=allow_private_networks))
    _redact_http_logs()
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
            "Accept-Encoding": _ACCEPT_ENCODING,
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
                if response.status_code != 200:
                    # Read the (small) body of every non-200 answer: an unread body makes
                    # httpcore close the connection instead of returning it to the pool,
                    # so each 304 would open a new TCP (and TLS) connection.
                    await _drain(response)
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
        except (httpx.InvalidURL, ValueError) as exc:  # a bad Location, an invalid IDN
            raise FetchError(f"invalid URL {current!r}: {exc}") from None
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
    """Read the decoded body, stopping as soon as it passes the cap (a gzip bomb stops here).

    The raw bytes are decoded here, in bounded steps, rather than by httpx: its decoders
    inflate each network read in one go, which for a bomb is tens of MB per read.
    """
    declared = response.headers.get("content-length")
    decoder = _Decoder.for_encoding(response.headers.get("content-encoding", ""))
    if declared and declared.isdigit() and int(declared) > max_bytes:
        # Compressed or not, a body declared larger than the cap is not worth reading:
        # feeds compress at least as well as 1:1.
        raise FetchError(f"too large: {int(declared)} bytes declared, the limit is {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in decoder.decode(response.aiter_raw()):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"too large: the body passed the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class _Decoder:
    """Content-Encoding decoding whose every step yields at most `_DECODE_STEP` bytes."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib: zlib._Decompress | None = None
        self._brotli: object | None = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            # "deflate" is zlib-wrapped by the RFC, raw deflate on many servers: try both.
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
        elif encoding == "br":
            self._brotli = _brotli.Decompressor() if _brotli is not None else None

    @classmethod
    def for_encoding(cls, header: str) -> _Decoder:
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1:
            raise FetchError(f"could not decode the body: stacked encodings {header!r}")
        coding = codings[0] if codings else "identity"
        if coding not in ("identity", "gzip", "x-gzip", "deflate") and not (
            coding == "br" and _BOUNDED_BROTLI
        ):
            raise FetchError(f"could not decode the body: unsupported encoding {coding!r}")
        return cls(coding)

    async def decode(self, raw: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        started = False
        async for data in raw:
            try:
                for piece in self._steps(data, first=not started):
                    yield piece
            except _DECODE_ERRORS as exc:
                raise FetchError(f"could not decode the {self.encoding} body: {exc}") from None
            started = True
        if self._zlib is not None:
            # Output zlib still holds once all input is in: at most its 32 KiB window.
            try:
                rest = self._zlib.flush()
            except zlib.error as exc:
                raise FetchError(f"could not decode the {self.encoding} body: {exc}") from None
            if rest:
                yield rest

    def _steps(self, data: bytes, *, first: bool) -> Iterator[bytes]:
        if self._zlib is not None:
            yield from self._inflate(data, first=first)
        elif self._brotli is not None:
            yield from self._unbrotli(data)
        elif data:
            yield data

    def _inflate(self, data: bytes, *, first: bool) -> Iterator[bytes]:
        assert self._zlib is not None
        try:
            out = self._zlib.decompress(data, _DECODE_STEP)
        except zlib.error:
            if not (first and self.encoding == "deflate"):
                raise
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._zlib.decompress(data, _DECODE_STEP)
        while True:
            if out:
                yield out
            if not self._zlib.unconsumed_tail or self._zlib.eof:
                return
            out = self._zlib.decompress(self._zlib.unconsumed_tail, _DECODE_STEP)

    def _unbrotli(self, data: bytes) -> Iterator[bytes]:
        decompressor: Any = self._brotli
        out = decompressor.process(data, output_buffer_limit=_DECODE_STEP)
        while True:
            if out:
                yield out
            if decompressor.can_accept_more_data() or decompressor.is_finished():
                return
            out = decompressor.process(b"", output_buffer_limit=_DECODE_STEP)


async def _drain(response: httpx.Response, limit: int = 64 * 1024) -> None:
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > limit:  # not worth keeping the connection for: httpcore closes it
            return


def _check_scheme(url: str) -> None:
    parts = split_url(url)
    if parts is None:
        raise FetchError(f"invalid URL {url!r}")
    scheme = parts.scheme.lower()
    if scheme not in WEB_SCHEMES:
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
