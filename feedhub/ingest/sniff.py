"""What a fetched body is, from its first bytes and its Content-Type (pure).

Both the parser (an HTML page is not a feed) and autodiscovery (an HTML page may link one)
ask this, so it is a module of its own rather than one reaching into the other.
"""

from __future__ import annotations

import re

__all__ = ["looks_like_html"]

_FEED_ROOTS = ("<rss", "<feed", "<rdf", "<opml", "<channel")
_HTML_ROOTS = ("<!doctype html", "<html")
_FEED_ROOT_ANYWHERE = re.compile(r"<(rss|feed|rdf:rdf)[\s>]")


def _first_markup(head: str) -> str:
    """The text from the first element on, past the XML declaration, comments and PIs."""
    text = head.lstrip()
    while True:
        if text.startswith("<?"):
            end = text.find("?>")
            if end < 0:
                return ""
            text = text[end + 2 :].lstrip()
        elif text.startswith("<!--"):
            end = text.find("-->")
            if end < 0:
                return ""
            text = text[end + 3 :].lstrip()
        else:
            return text


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """Is this a web page (to run discovery on) rather than a feed?

    The body wins over the header: many servers label their RSS `text/html`, and treating
    such a feed as a page would make the API reject a perfectly good feed URL.
    """
    head = body[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", "replace")
    else:
        text = head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    text = text.lstrip("\ufeff \t\r\n").lower()
    if text.startswith(("{", "[")):
        return False
    markup = _first_markup(text)
    if markup.startswith(_HTML_ROOTS):
        return True
    if markup.startswith(_FEED_ROOTS) or markup.startswith("<!doctype") or text.startswith("<?xml"):
        # An XML document whose root is not <html> (a feed, an OPML file, RSS 0.91 with its
        # <!DOCTYPE rss>): not a page to search for <link> tags.
        return False
    if "<html" not in text and _FEED_ROOT_ANYWHERE.search(text):
        # Junk before the root (a PHP warning, a stray <br />) on a feed labelled text/html:
        # still a feed, and feedparser reads it.
        return False
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type in ("text/html", "application/xhtml+xml")
