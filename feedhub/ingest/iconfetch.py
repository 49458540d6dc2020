"""Fetching a feed's site icon: the URLs `ingest.icons` chooses, one after the other, until
one answers with an image.

Every request goes through the poller's `fetch` (its guarded client and host gate), so an
icon URL gets the SSRF guard, the redirect rules and the time limits a feed gets, with a
byte cap of its own. The site page is read only when the feed declares no usable icon.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from feedhub.core.errors import FetchError
from feedhub.core.types import FetchResult
from feedhub.ingest.htmllinks import IconLink, find_icon_links
from feedhub.ingest.icons import MAX_ICON_BYTES, MAX_TRIES, choose_icon_urls, sniff_image

__all__ = ["MAX_PAGE_BYTES", "Fetch", "IconFound", "IconMissing", "IconUnchanged", "fetch_icon"]

# The site page is read for its <link rel="icon">s, which sit in its <head>.
MAX_PAGE_BYTES = 1024 * 1024

# (url, max_bytes, etag) -> the answer; raises FetchError.
Fetch = Callable[[str, int, str | None], Awaitable[FetchResult]]


@dataclass(frozen=True, slots=True)
class IconFound:
    url: str
    content_type: str
    data: bytes
    etag: str | None


@dataclass(frozen=True, slots=True)
class IconUnchanged:
    """The icon kept from last time answered 304 Not Modified."""

    url: str


@dataclass(frozen=True, slots=True)
class IconMissing:
    error: str


IconAttempt = IconFound | IconUnchanged | IconMissing


async def fetch_icon(
    fetch: Fetch,
    *,
    declared: Sequence[str],
    site_url: str | None,
    feed_url: str,
    previous_url: str | None = None,
    previous_etag: str | None = None,
) -> IconAttempt:
    """Try the chosen URLs in order, at most `MAX_TRIES`; the first image wins."""
    errors: list[str] = []
    tried: set[str] = set()

    async def attempt(url: str) -> IconFound | IconUnchanged | None:
        tried.add(url)
        etag = previous_etag if url == previous_url else None
        try:
            result = await fetch(url, MAX_ICON_BYTES, etag)
        except FetchError as exc:
            errors.append(f"{url}: {exc}")
            return None
        if result.not_modified:
            return IconUnchanged(url)
        kind = sniff_image(result.body or b"")
        if kind is None:
            errors.append(f"{url}: not a PNG, GIF, JPEG, WebP or ICO image")
            return None
        return IconFound(url, kind, result.body or b"", result.etag)

    fallback = set(choose_icon_urls((), None, site_url=site_url, feed_url=feed_url))
    first = [u for u in choose_icon_urls(declared, None, site_url=site_url, feed_url=feed_url)]
    for url in [u for u in first if u not in fallback][:MAX_TRIES]:
        if (found := await attempt(url)) is not None:
            return found
    links = await _page_icons(fetch, site_url) if site_url else []
    every = choose_icon_urls(declared, links, site_url=site_url, feed_url=feed_url)
    for url in every:
        if len(tried) >= MAX_TRIES:
            break
        if url in tried:
            continue
        if (found := await attempt(url)) is not None:
            return found
    return IconMissing("; ".join(errors) or "no icon URL to try")


async def _page_icons(fetch: Fetch, site_url: str) -> list[IconLink]:
    try:
        page = await fetch(site_url, MAX_PAGE_BYTES, None)
    except FetchError:
        return []  # the page's icons are unknown; /favicon.ico is still tried
    return find_icon_links(page.body or b"", page.final_url) if page.body else []
