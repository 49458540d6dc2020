"""What a URL given by a person turns out to be: a feed, or a page that leads to feeds.

Orchestration only: the caller passes `fetch` and `parse`, so this module does no I/O of its
own and the rules (links in the page first, then the common paths) read in one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from feedhub.core.errors import EmptyFeedError, FetchError, ParseError, ValidationError
from feedhub.core.types import FetchResult, ParsedFeed
from feedhub.ingest.htmllinks import common_path_candidates, find_feed_links
from feedhub.ingest.sniff import looks_like_html

__all__ = ["Found", "discover_feeds", "resolve_feed"]

Fetch = Callable[[str], Awaitable[FetchResult]]
Parse = Callable[[FetchResult], Awaitable[ParsedFeed]]


@dataclass(frozen=True, slots=True)
class Found:
    """A feed URL to store, with its title when the feed (or the page's link) gives one."""

    url: str
    title: str | None


async def _as_feed(result: FetchResult, url: str, parse: Parse) -> Found:
    """Raises ParseError when the body is not a feed; an empty feed is still a feed."""
    target = result.permanent_url or url
    try:
        parsed = await parse(result)
    except EmptyFeedError:
        return Found(target, None)
    return Found(target, parsed.title)


async def discover_feeds(
    url: str, fetch: Fetch, parse: Parse, *, first_only: bool = False
) -> list[Found]:
    """The feeds `url` leads to: itself if it is a feed, else the page's alternate links
    that really are feeds, else the first common path (/feed, /rss.xml, …) that is one.

    Raises ValidationError in words (the admin API answers 422).
    """
    try:
        result = await fetch(url)
    except FetchError as exc:
        raise ValidationError(f"could not fetch {url}: {exc}") from None
    body = result.body or b""
    if not looks_like_html(body, result.headers.get("content-type")):
        try:
            return [await _as_feed(result, url, parse)]
        except ParseError as exc:
            raise ValidationError(f"{url} is not a feed: {exc}") from None

    linked = find_feed_links(body, result.final_url)
    titles = {c.url: c.title for c in linked}
    found: list[Found] = []
    for candidate in [c.url for c in linked]:
        if (feed := await _try(candidate, fetch, parse)) is not None:
            found.append(Found(feed.url, feed.title or titles.get(candidate)))
            if first_only:
                return found
    if not found and (feed := await _try_result(result, url, parse)) is not None:
        # No linked feed, yet the page holds one: an Atom or RSS document wrapped in XHTML,
        # which the parser reads. Tried before guessing common paths.
        return [feed]
    if not found:
        for candidate in common_path_candidates(result.final_url):
            if candidate != url and (feed := await _try(candidate, fetch, parse)) is not None:
                return [feed]
    if not found:
        raise ValidationError(f"{url} is an HTML page that links no feed")
    return found


async def _try_result(result: FetchResult, url: str, parse: Parse) -> Found | None:
    """The page itself as a feed, only with entries: a page that merely mentions <feed>
    is not an empty feed."""
    try:
        parsed = await parse(result)
    except ParseError:  # EmptyFeedError included
        return None
    return Found(result.permanent_url or url, parsed.title)


async def _try(url: str, fetch: Fetch, parse: Parse) -> Found | None:
    try:
        return await _as_feed(await fetch(url), url, parse)
    except (FetchError, ParseError):
        return None


async def resolve_feed(url: str, fetch: Fetch, parse: Parse) -> Found:
    """The one feed to subscribe to for `url`."""
    return (await discover_feeds(url, fetch, parse, first_only=True))[0]
