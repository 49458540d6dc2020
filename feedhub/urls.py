"""Feed URLs: one normal form for the uniqueness check, one redaction for showing them.

Pure string functions, at the bottom layer, because the admin API, the poller, the public
queries and the log filter all need the same rule (issue 14, items 3 and 13).

- `normalize_feed_url`: `HTTP://Example.com:80/./feed#top` and `http://example.com/feed`
  are one feed (a real user ended with six copies of every article). Scheme and host are
  lower-cased, default ports, fragments and an empty query dropped, dot segments resolved,
  an empty path made `/` (RFC 3986, 6.2.2 and 6.2.3). Credentials, the path's case and a
  non-empty query are kept: they may matter to the server.
- `redact_url`: what may be shown or logged of a feed URL: no credentials, no query (a
  `?token=…` is a secret as often as not), no fragment.
- `redact_text`: the same for every URL inside a log message (httpx's own lines).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "RedactingFilter",
    "display_name",
    "normalize_feed_url",
    "redact_text",
    "redact_url",
    "remove_dot_segments",
]

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
