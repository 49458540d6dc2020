"""URL helpers: the one place that says what a feed or article URL may be.

Every URL check in feedhub calls these (the fetcher, the SSRF guard, the parsers, OPML,
autodiscovery, the host gate), so "http(s) with a host, and urllib can split it" means
the same everywhere. Pure: no I/O, no resolving (the guard resolves).

Feed URLs also have one normal form for the uniqueness check and one redaction for showing
them:

- `normalize_feed_url`: `HTTP://Example.com:80/./feed#top` and `http://example.com/feed`
  are one feed (a real user ended with six copies of every article). Scheme and host are
  lower-cased, default ports, fragments and an empty query dropped, dot segments resolved,
  an empty path made `/` (RFC 3986, 6.2.2 and 6.2.3). Credentials, the path's case and a
  non-empty query are kept: they may matter to the server.
- `redact_url`: what may be shown or logged of a feed URL: no credentials, no query (a
  `?token=…` is a secret as often as not), no fragment. `redact_text` does the same to
  every URL of a log message (httpx's own lines), through `RedactingFilter`.
"""

from __future__ import annotations

import logging
import re
from typing import NamedTuple
from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

__all__ = [
    "WEB_SCHEMES",
    "RedactingFilter",
    "WebURL",
    "clean_url",
    "display_name",
    "host_of",
    "is_web_url",
    "normalize_feed_url",
    "parse_web_url",
    "redact_text",
    "redact_url",
    "remove_dot_segments",
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


# -- one normal form, one redaction ------------------------------------------------
_DEFAULT_PORTS = {"http": 80, "https": 443}


def remove_dot_segments(path: str) -> str:
    """RFC 3986, 5.2.4: `/a/./b/../c` -> `/a/c`."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def normalize_feed_url(url: str) -> str:
    """The form stored and compared for uniqueness; an unparsable URL is returned as is
    (the SSRF guard refuses it with words of its own)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    netloc = f"{userinfo}@{host}" if userinfo else host
    path = remove_dot_segments(parts.path) or "/"
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def redact_url(url: str) -> str:
    """`http://alice:hunter2@host/feed?token=SECRET#x` -> `http://host/feed`."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return "(an invalid URL)"
    if not host:
        return url.split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def display_name(url: str) -> str:
    """A feed's name when it has no title: its host and path, nothing secret."""
    redacted = redact_url(url)
    return redacted.split("://", 1)[-1].rstrip("/") or redacted


_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")


def redact_text(text: str) -> str:
    """Every URL in `text` redacted."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """Redacts the URLs of a record's message (httpx logs `HTTP Request: GET <url>`).

    Attached to the loggers that may print a feed URL we do not format ourselves.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "://" in message:
            record.msg = redact_text(message)
            record.args = None
        return True
