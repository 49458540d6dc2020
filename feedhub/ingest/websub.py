"""WebSub (W3C Recommendation, 2018), the subscriber's pure rules: no I/O, the clock passed in.

- Discovery (§4): the hub and the topic's canonical (`self`) URL, from the HTTP `Link`
  headers first and then from the document's own `<link>` / `<atom:link>` elements (or a
  JSON Feed's `hubs`). Scanned with a regular expression over the document's head rather
  than an XML parse: the head is all we need, and a feed that does not parse still polls.
- Authenticated content distribution (§8): `X-Hub-Signature: method=hex(HMAC(secret, body))`
  over the exact body, compared in constant time.
- Leases (§5.1.2): renew well before the hub's lease ends; resubscribe after a denial or an
  expired lease with exponential backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlsplit

__all__ = [
    "SIGNATURE_METHODS",
    "HubLinks",
    "check_signature",
    "discover",
    "renew_at",
    "retry_delay",
]

# hashlib names the spec allows; sha1 is accepted as §8 still permits it.
SIGNATURE_METHODS = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}

# Hub and self links sit in a feed's head, before its entries; a document is scanned no
# further than this (a 10 MB feed is not read twice for two links).
_HEAD_BYTES = 65_536
_MAX_URL = 2048

_LINK_TAG = re.compile(rb"<(?:[A-Za-z][\w.-]*:)?link\b([^>]*)>", re.I)
_ATTRIBUTE = re.compile(rb"""([A-Za-z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_FIRST_ENTRY = re.compile(rb"<(?:[A-Za-z][\w.-]*:)?(?:entry|item)\b", re.I)
_LINK_VALUE = re.compile(r"<([^>]*)>((?:\s*;\s*[^,;<]+(?:=\s*(?:\"[^\"]*\"|[^,;]*))?)*)")
_PARAM = re.compile(r"""\s*;\s*([\w*-]+)\s*(?:=\s*(?:"([^"]*)"|([^;,]*)))?""")


@dataclass(frozen=True, slots=True)
class HubLinks:
    """What a feed advertises: its hub (None: it does not push) and its topic URL."""

    hub: str | None
    topic: str | None


def _usable(url: str | None, base: str) -> str | None:
    if not url:
        return None
    absolute = urljoin(base, url.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(absolute) > _MAX_URL:
        return None
    return absolute


def _from_headers(headers: Mapping[str, str], base: str) -> tuple[str | None, str | None]:
    value = next((v for k, v in headers.items() if k.lower() == "link"), "")
    hub = topic = None
    for match in _LINK_VALUE.finditer(value):
        rels: set[str] = set()
        for param in _PARAM.finditer(match.group(2)):
            if param.group(1).lower() == "rel":
                rels.update((param.group(2) or param.group(3) or "").lower().split())
        if "hub" in rels and hub is None:
            hub = _usable(match.group(1), base)
        if "self" in rels and topic is None:
            topic = _usable(match.group(1), base)
    return hub, topic


def _from_xml(head: bytes, base: str) -> tuple[str | None, str | None]:
    hub = topic = None
    for tag in _LINK_TAG.finditer(head):
        attributes: dict[str, str] = {}
        for name, double, single in _ATTRIBUTE.findall(tag.group(1)):
            raw = double if double or not single else single
            attributes[name.decode("ascii", "replace").lower()] = html.unescape(
                raw.decode("utf-8", "replace")
            )
        rels = set(attributes.get("rel", "").lower().split())
        if "hub" in rels and hub is None:
            hub = _usable(attributes.get("href"), base)
        if "self" in rels and topic is None:
            topic = _usable(attributes.get("href"), base)
    return hub, topic


def _from_json(body: bytes, base: str) -> tuple[str | None, str | None]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(document, dict):
        return None, None
    hub = None
    hubs = document.get("hubs")
    if isinstance(hubs, list):
        for entry in hubs:
            if isinstance(entry, dict) and str(entry.get("type", "")).lower() == "websub":
                hub = _usable(str(entry.get("url", "")), base)
                break
    feed_url = document.get("feed_url")
    return hub, _usable(feed_url if isinstance(feed_url, str) else None, base)


def discover(headers: Mapping[str, str], body: bytes | None, url: str) -> HubLinks:
    """The hub and topic a fetched feed advertises (§4): HTTP `Link` headers win over the
    document. Without a `self` link the fetched URL is the topic; without a hub, None."""
    hub, topic = _from_headers(headers, url)
    if body and (hub is None or topic is None):
        stripped = body.lstrip()
        if stripped.startswith(b"{"):
            doc_hub, doc_topic = _from_json(body, url)
        else:
            head = body[:_HEAD_BYTES]
            entry = _FIRST_ENTRY.search(head)
            doc_hub, doc_topic = _from_xml(head[: entry.start()] if entry else head, url)
        hub = hub or doc_hub
        topic = topic or doc_topic
    return HubLinks(hub=hub, topic=(topic or url) if hub else topic)


def check_signature(header: str | None, body: bytes, secret: str) -> bool:
    """Whether `X-Hub-Signature` is a valid HMAC of exactly `body` with `secret` (§8)."""
    if not header or not secret:
        return False
    method, sep, signature = header.strip().partition("=")
    digest = SIGNATURE_METHODS.get(method.strip().lower())
    if not sep or digest is None:
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    return hmac.compare_digest(
        expected.encode(), signature.strip().lower().encode("ascii", "replace")
    )


def renew_at(verified_at: datetime, lease_seconds: int) -> datetime:
    """When to renew a lease granted at `verified_at`: once two thirds of it have passed,
    and at least a minute before it ends (hubs differ, and a renewal may take a while)."""
    lease = timedelta(seconds=max(lease_seconds, 1))
    margin = max(lease / 3, min(timedelta(minutes=1), lease / 2))
    return verified_at + lease - margin


def retry_delay(attempts: int, *, base: float = 60.0, cap: float = 86_400.0) -> timedelta:
    """How long after the `attempts`-th failed or denied subscription to try again:
    a minute, then doubling, at most a day (the same curve as a failing poll)."""
    exponent = min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(base * 2**exponent, cap))
