"""URL helpers: the one place that says what a feed or article URL may be.

Every URL check in feedhub calls these (the fetcher, the SSRF guard, the parsers, OPML,
autodiscovery, the host gate), so "http(s) with a host, and urllib can split it" means
the same everywhere. Pure: no I/O, no resolving (the guard resolves).
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

__all__ = [
    "WEB_SCHEMES",
    "WebURL",
    "clean_url",
    "host_of",
    "is_web_url",
    "parse_web_url",
    "split_url",
    "web_url",
]

WEB_SCHEMES = frozenset({"http", "https"})

_TRACKING_PARAMS = re.compile(r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid)$", re.I)


def split_url(url: str) -> SplitResult | None:
    """urlsplit, or None for strings urllib cannot split ("http://[oops", a bad IPv6
    literal): one bad link must never fail a whole feed."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


class WebURL(NamedTuple):
    """An http(s) URL split into what the guard and the fetcher need."""

    scheme: str  # lower-case
    hostname: str  # lower-case
    port: int  # the scheme's default when the URL has none


def parse_web_url(url: str) -> WebURL | str:
    """The URL's parts when it is an http(s) URL with a host; else why not, in words."""
    parts = split_url(url)
    if parts is None:
        return f"{url!r} is not a valid URL"
    scheme = parts.scheme.lower()
    if scheme not in WEB_SCHEMES:
        return f"{url!r} is not an http or https URL"
    if not parts.hostname:
        return f"{url!r} has no host name"
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return f"{url!r} has an invalid port"
    return WebURL(scheme, parts.hostname.lower(), port)


def is_web_url(url: str) -> bool:
    """An http(s) URL with a host that urllib can split."""
    parts = split_url(url)
    return parts is not None and parts.scheme.lower() in WEB_SCHEMES and bool(parts.netloc)


def web_url(href: str, base: str | None = None) -> str | None:
    """`href` resolved against `base` when it is an http(s) URL; None for anything else."""
    try:
        url = urljoin(base, href) if base else href
    except ValueError:
        return None
    return url if is_web_url(url) else None


def clean_url(url: str | None, base_url: str | None = None) -> str | None:
    """Absolute http(s) URL without tracking parameters, or None."""
    if not url or (resolved := web_url(url.strip(), base_url)) is None:
        return None
    parts = urlsplit(resolved)
    if parts.query:
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        ]
        parts = parts._replace(query=urlencode(query))
    return urlunsplit(parts)


def host_of(url: str) -> str:
    """The lower-case host name ("" when there is none): the host gate's key."""
    parts = split_url(url)
    return (parts.hostname or "").lower() if parts is not None else ""
