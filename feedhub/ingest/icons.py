"""Site icons, the pure part: which URLs to try, what the bytes are, when to fetch again.

No I/O here (`ingest.iconfetch` fetches, `ingest.iconstore` keeps); each function takes
what it decides on, the clock included, and is tested with a table.

Only raster images are kept: PNG, GIF, JPEG, WebP and ICO, recognised by their first
bytes, never by the server's Content-Type. SVG is refused: it is a document that can carry
scripts and links, and served from feedhub's own origin it would need a sandbox on every
path that can reach it (a raster icon needs none).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from feedhub.core.urls import web_url
from feedhub.ingest.htmllinks import IconLink

__all__ = [
    "FAILED_RETRY",
    "IMAGE_TYPES",
    "MAX_ICON_BYTES",
    "MAX_TRIES",
    "choose_icon_urls",
    "icon_due",
    "icon_next_due",
    "sniff_image",
]

# An icon is small: a 64x64 PNG is a few KB; an apple-touch-icon (180x180) rarely 30 KB.
MAX_ICON_BYTES = 64 * 1024
# URLs tried per attempt, the site page not counted: a site's wrong links cost little.
MAX_TRIES = 4
# A failed attempt is retried after this long at most (the refresh period if shorter).
FAILED_RETRY = timedelta(days=1)

IMAGE_TYPES = frozenset(
    {"image/png", "image/gif", "image/jpeg", "image/webp", "image/vnd.microsoft.icon"}
)
# The size feedhub shows icons at, doubled for high-density screens.
_WANTED_PX = 32
_SIZE = re.compile(r"(\d{1,4})x(\d{1,4})")


def sniff_image(data: bytes) -> str | None:
    """The image type of `data` from its signature; None if it is no raster image we keep."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    # ICONDIR: reserved 0, type 1 (icon), at least one image.
    if len(data) >= 6 and data[:4] == b"\x00\x00\x01\x00" and data[4:6] != b"\x00\x00":
        return "image/vnd.microsoft.icon"
    return None


def _is_svg(url: str, media_type: str | None) -> bool:
    return (media_type or "").startswith("image/svg") or urlsplit(url).path.lower().endswith(
        (".svg", ".svgz")
    )


def _size_penalty(sizes: str | None) -> int:
    """How far the link's best size is from the size shown; unknown sizes sit in between."""
    if sizes is None or sizes == "any":
        return 16
    found = [min(int(w), int(h)) for w, h in _SIZE.findall(sizes)]
    if not found:
        return 16
    return min(abs(px - _WANTED_PX) if px >= 16 else 64 for px in found)


def _rank(link: IconLink) -> tuple[int, int]:
    return (0 if link.rel == "icon" else 1, _size_penalty(link.sizes))


def _favicon_ico(url: str | None) -> str | None:
    if url is None or (absolute := web_url(url, url)) is None:
        return None
    parts = urlsplit(absolute)
    return urlunsplit((parts.scheme, parts.netloc, "/favicon.ico", "", ""))


def choose_icon_urls(
    declared: Sequence[str],
    page_links: Sequence[IconLink] | None,
    *,
    site_url: str | None,
    feed_url: str,
) -> list[str]:
    """The URLs to try for a feed's icon, best first, http(s) only, each once, no SVG.

    The feed's own icon or logo first (it chose it), then the site page's icon links (a
    `rel="icon"` near 32 px before larger ones, `apple-touch-icon` last), then the site's
    `/favicon.ico`, and the feed host's if that is another host. `page_links` is None
    while the page has not been read: the list then holds what needs no page.
    """
    urls: list[str] = []
    for url in declared:
        if (absolute := web_url(url, feed_url)) is not None and not _is_svg(absolute, None):
            urls.append(absolute)
    if page_links:
        links = [link for link in page_links if not _is_svg(link.url, link.type)]
        urls.extend(link.url for link in sorted(links, key=_rank))
    for origin in (site_url, feed_url):
        if (ico := _favicon_ico(origin)) is not None:
            urls.append(ico)
    return list(dict.fromkeys(urls))


def icon_next_due(fetched_at: datetime, *, failed: bool, refresh: timedelta) -> datetime:
    """When an icon last tried at `fetched_at` is fetched again: after the refresh period,
    or after a day (the period if shorter) when that attempt failed."""
    return fetched_at + (min(refresh, FAILED_RETRY) if failed else refresh)


def icon_due(
    fetched_at: datetime | None, *, failed: bool, now: datetime, refresh: timedelta
) -> bool:
    """Whether to fetch a feed's icon now: never tried, or `icon_next_due` has come."""
    if fetched_at is None:
        return True
    return now >= icon_next_due(fetched_at, failed=failed, refresh=refresh)
