"""The category Atom output is valid Atom by RFC 4287: checked against the RELAX NG schema
of its Appendix B (tests/schemas/atom.rng, through lxml) and against the rules the RFC
states in prose, which RELAX NG cannot say. The articles lack authors and links, the
cases a feed reader's own parser forgives and a validator does not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from lxml import etree

from feedhub.core.config import Settings
from feedhub.service.app import create_app
from tests.support.feedserver import FeedServer, rss

AUTH = {"Authorization": "Bearer test-token"}
ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parents[1] / "schemas" / "atom.rng")))


def rfc4287_prose_errors(feed: etree._Element) -> list[str]:
    """The MUSTs of RFC 4287 that its schema leaves to prose."""
    errors = []
    entries = feed.findall(f"{ATOM}entry")
    # 4.1.1: a feed has an author unless every entry has one (4.2.1: or its source has).
    if not feed.findall(f"{ATOM}author"):
        for entry in entries:
            source = entry.find(f"{ATOM}source")
            if not entry.findall(f"{ATOM}author") and (
                source is None or not source.findall(f"{ATOM}author")
            ):
                errors.append(f"4.1.1: no author for {entry.findtext(f'{ATOM}id')}")
    for entry in entries:
        entry_id = entry.findtext(f"{ATOM}id")
        links = entry.findall(f"{ATOM}link")
        alternate = [link for link in links if link.get("rel", "alternate") == "alternate"]
        content = entry.find(f"{ATOM}content")
        # 4.1.2: no content means an alternate link.
        if content is None and not alternate:
            errors.append(f"4.1.2: neither content nor an alternate link in {entry_id}")
        # 4.1.2: out-of-line or non-text content needs a summary.
        if content is not None and content.get("src") and entry.find(f"{ATOM}summary") is None:
            errors.append(f"4.1.2: content with src but no summary in {entry_id}")
        # 4.1.1 / 4.1.2: at most one alternate link per type and hreflang.
        kinds = [(link.get("type"), link.get("hreflang")) for link in alternate]
        if len(kinds) != len(set(kinds)):
            errors.append(f"4.1.2: two alternate links of one type in {entry_id}")
    kinds = [
        (link.get("type"), link.get("hreflang"))
        for link in feed.findall(f"{ATOM}link")
        if link.get("rel", "alternate") == "alternate"
    ]
    if len(kinds) != len(set(kinds)):
        errors.append("4.1.1: two alternate links of one type in the feed")
    return errors


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


async def test_category_atom_with_authorless_linkless_articles_is_valid_rfc4287(
    client: AsyncTestClient[Any], feed_server: FeedServer
) -> None:
    feed_server.set(
        "/mixed.xml",
        rss([
            {"guid": "1", "title": "No author, no link", "description": "Only text"},
            {"guid": "2", "title": "No author", "link": "http://e.com/2", "description": "x"},
            {"guid": "3", "title": "Both", "link": "http://e.com/3", "author": "a@e.com (Ann)"},
            {"guid": "4", "title": "Unsafe link", "link": "javascript:alert(1)"},
        ]),
    )  # fmt: skip
    await client.post("/api/admin/categories", json={"name": "Tech"}, headers=AUTH)
    r = await client.post(
        "/api/admin/feeds", json={"url": feed_server.url("/mixed.xml"), "category": "tech"},
        headers=AUTH,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/admin/feeds/{r.json()['id']}/refresh", headers=AUTH)
    assert r.json()["new_articles"] == 4, r.text

    for path in ("/categories/tech/atom.xml", "/all/atom.xml"):
        r = await client.get(path)
        assert r.status_code == 200
        document = etree.fromstring(r.content)
        assert len(document.findall(f"{ATOM}entry")) == 4
        assert SCHEMA.validate(document), (path, str(SCHEMA.error_log))
        assert rfc4287_prose_errors(document) == [], path


def test_the_checks_catch_what_they_should() -> None:
    """The schema and the prose rules each reject a document that breaks them."""
    entry = "<entry><id>urn:e</id><title>t</title><updated>2024-01-01T00:00:00Z</updated></entry>"
    feed = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:f</id><title>f</title>'
        f"<updated>2024-01-01T00:00:00Z</updated>{entry}</feed>"
    )
    document = etree.fromstring(feed)
    assert SCHEMA.validate(document)
    assert rfc4287_prose_errors(document) == [
        "4.1.1: no author for urn:e",
        "4.1.2: neither content nor an alternate link in urn:e",
    ]
    assert not SCHEMA.validate(etree.fromstring(feed.replace("<id>urn:f</id>", "")))
    assert not SCHEMA.validate(
        etree.fromstring(
            feed.replace("2024-01-01T00:00:00Z</updated></entry>", "soon</updated></entry>")
        )
    )
