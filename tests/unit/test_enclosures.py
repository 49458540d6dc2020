"""Enclosures read from RSS, Atom and JSON Feed (bytes in, values out)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from feedhub.core.types import Enclosure
from feedhub.ingest.parse import parse_feed

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
URL = "http://podcasts.example/feed.xml"


def _parse(body: str | bytes, content_type: str = "application/rss+xml"):
    raw = body.encode() if isinstance(body, str) else body
    return parse_feed(raw, url=URL, headers={"content-type": content_type}, fetched_at=NOW)


RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Pod</title>
<item><title>Episode 1</title><guid>ep1</guid><link>http://podcasts.example/ep1</link>
  <enclosure url="/media/ep1.mp3" length="12345678" type="audio/mpeg"/></item>
<item><title>Episode 2</title><guid>ep2</guid>
  <enclosure url="http://podcasts.example/ep2.m4a" length="0" type="Audio/X-M4A; codecs=x"/>
  <enclosure url="javascript:alert(1)" length="5" type="audio/mpeg"/>
  <enclosure url="http://podcasts.example/ep2.m4a" length="9" type="audio/mpeg"/></item>
<item><title>Plain</title><guid>plain</guid><description>no media</description></item>
</channel></rss>"""


def test_rss_enclosures_resolved_typed_and_sized() -> None:
    entries = {e.title: e for e in _parse(RSS).entries}
    assert entries["Episode 1"].enclosures == (
        Enclosure("http://podcasts.example/media/ep1.mp3", "audio/mpeg", 12345678),
    )
    # Unknown length (0) is None; parameters dropped from the type; repeats and unsafe
    # schemes are left out.
    assert entries["Episode 2"].enclosures == (
        Enclosure("http://podcasts.example/ep2.m4a", "audio/x-m4a", None),
    )
    assert entries["Plain"].enclosures == ()


def test_enclosures_join_the_content_hash_only_when_present() -> None:
    with_media = _parse(RSS).entries
    without = _parse(RSS.replace('<enclosure url="/media/ep1.mp3"', '<foo url="x"')).entries
    before = {e.title: e.content_hash for e in without}
    after = {e.title: e.content_hash for e in with_media}
    assert before["Plain"] == after["Plain"]
    assert before["Episode 1"] != after["Episode 1"]


def test_atom_enclosure_links() -> None:
    atom = """<feed xmlns="http://www.w3.org/2005/Atom"><title>V</title>
    <entry><id>v1</id><title>Video</title><link href="http://v.example/1"/>
      <link rel="enclosure" href="clip.mp4" type="video/mp4" length="2048"/></entry></feed>"""
    [entry] = _parse(atom, "application/atom+xml").entries
    assert entry.enclosures == (Enclosure("http://podcasts.example/clip.mp4", "video/mp4", 2048),)


def test_json_feed_attachments() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {
                "id": "1",
                "content_text": "hi",
                "attachments": [
                    {"url": "/a.ogg", "mime_type": "audio/ogg", "size_in_bytes": 77},
                    {"url": "ftp://x/b", "mime_type": "audio/ogg"},
                    {"mime_type": "audio/ogg"},
                    "nonsense",
                ],
            },
            {"id": "2", "content_text": "no media", "attachments": "nope"},
        ],
    }
    entries = _parse(json.dumps(document), "application/feed+json").entries
    assert entries[0].enclosures == (Enclosure("http://podcasts.example/a.ogg", "audio/ogg", 77),)
    assert entries[1].enclosures == ()


def test_many_enclosures_are_capped() -> None:
    items = "".join(f'<enclosure url="/f{i}.mp3" type="audio/mpeg"/>' for i in range(30))
    body = f'<rss version="2.0"><channel><title>t</title><item><guid>g</guid>{items}</item>'
    body += "</channel></rss>"
    [entry] = _parse(body).entries
    assert len(entry.enclosures) == 8
