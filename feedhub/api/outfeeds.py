"""Category output feeds: the latest articles as Atom 1.0 and JSON Feed 1.1.

So feedhub can sit in front of any other reader as a category aggregator. Readers poll
these cheaply: the ETag is a hash of the rendered document (an article edited in place
changes it too), and a matching If-None-Match is answered 304 without a body.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import msgspec
from feedgen.feed import FeedGenerator
from litestar import Controller, Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.params import FromPath
from sqlalchemy import select

from feedhub.api.deps import ServicesDep, SessionDep
from feedhub.api.identity import identity_of
from feedhub.api.openapi import errors
from feedhub.api.schemas import ArticleJSON
from feedhub.catalog.articles import articles_before
from feedhub.core.config import Settings
from feedhub.core.errors import NotFoundError
from feedhub.db.models import Category
from feedhub.ingest.sanitize import xml_safe

__all__ = ["OutputFeedController", "render_atom", "render_json_feed"]

LATEST = 50
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json"


def render_atom(title: str, self_url: str, home_url: str, articles: Sequence[ArticleJSON]) -> bytes:
    """Atom 1.0 written by feedgen (an XML library, not string formatting).

    It never fails on a stored article: every text goes through
    `xml_safe` (a control character in a category name made lxml refuse the document), and
    an article without a link (none, or a `javascript:` one dropped by the sanitizer) gets
    its text as `content`, since Atom (and feedgen) require a link or content per entry.
    The document names itself as author when an entry has none (RFC 4287 4.1.1).
    """
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(xml_safe(title) or "feedhub")
    fg.link(href=home_url, rel="alternate")
    fg.link(href=self_url, rel="self")
    fg.generator("feedhub")
    if any(not (article.author and xml_safe(article.author)) for article in articles):
        # RFC 4287 4.1.1: a feed names an author unless every entry does. The entries come
        # from many feeds, so the author of the collection is this document itself.
        fg.author(name=xml_safe(title) or "feedhub", uri=home_url)
    fg.updated(max((a.fetched_at for a in articles), default=datetime(2000, 1, 1, tzinfo=UTC)))
    for article in articles:  # newest first, as the document lists them
        entry = fg.add_entry(order="append")
        entry.id(f"{home_url}#article-{article.id}")
        entry_title = xml_safe(article.title) or "Untitled"
        entry.title(entry_title)
        summary = xml_safe(article.summary)
        if article.url:
            entry.link(href=xml_safe(article.url), rel="alternate")
            if summary:
                entry.summary(summary, type="html")
        else:
            entry.content(summary or html.escape(entry_title), type="html")
        if article.author and (author := xml_safe(article.author)):
            entry.author(name=author)
        entry.published(article.published_at)
        entry.updated(article.fetched_at)
        entry.category(term=xml_safe(article.category))
    data: bytes = fg.atom_str(pretty=False)
    return data


class JsonFeedAuthor(msgspec.Struct):
    name: str


class JsonFeedItem(msgspec.Struct, omit_defaults=True):
    id: str
    title: str
    content_html: str
    date_published: datetime
    date_modified: datetime
    tags: list[str]
    url: str | None = None
    authors: list[JsonFeedAuthor] | None = None


class JsonFeedDocument(msgspec.Struct):
    """JSON Feed 1.1 as we write it; also the OpenAPI document's description of it."""

    version: str
    title: str
    home_page_url: str
    feed_url: str
    items: list[JsonFeedItem]


def render_json_feed(
    title: str, self_url: str, home_url: str, articles: Sequence[ArticleJSON]
) -> bytes:
    items = [
        JsonFeedItem(
            id=str(a.id),
            title=a.title,
            content_html=a.summary or "",
            date_published=a.published_at,
            date_modified=a.fetched_at,
            tags=[a.category],
            url=a.url or None,
            authors=[JsonFeedAuthor(a.author)] if a.author else None,
        )  # fmt: skip
        for a in articles
    ]
    document = JsonFeedDocument(
        version="https://jsonfeed.org/version/1.1",
        title=title,
        home_page_url=home_url,
        feed_url=self_url,
        items=items,
    )
    return msgspec.json.encode(document)


def _conditional(
    request: Request[Any, Any, Any],
    body: bytes,
    media_type: str,
    articles: Sequence[ArticleJSON],
) -> Response[bytes]:
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    # Fetched with a user's key (or cookie), the answer is that user's: no shared cache
    # may keep it and hand it to someone without the key.
    scope = "public" if identity_of(request) is None else "private"
    headers = {"ETag": etag, "Cache-Control": f"{scope}, max-age=60"}
    if articles:
        headers["Last-Modified"] = format_datetime(
            max(a.fetched_at for a in articles).astimezone(UTC), usegmt=True
        )
    match = request.headers.get("if-none-match", "")
    if etag in {tag.strip() for tag in match.split(",")} or match.strip() == "*":
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


# The JSON Feed document as the OpenAPI document describes it (the fuzzer checks it).
_JSON_FEED_200 = {
    200: ResponseSpec(JsonFeedDocument, media_type=JSON_FEED, generate_examples=False)
}


class OutputFeedController(Controller):
    include_in_schema = True

    @get("/all/atom.xml", media_type=ATOM)
    async def atom_all(
        self, request: Request[Any, Any, Any], session: SessionDep, services: ServicesDep
    ) -> Response[bytes]:
        return await _output(request, session, services.settings, None, "atom.xml")

    @get("/categories/{slug:str}/atom.xml", media_type=ATOM, responses=errors(404))
    async def atom(
        self,
        request: Request[Any, Any, Any],
        session: SessionDep,
        services: ServicesDep,
        slug: FromPath[str],
    ) -> Response[bytes]:
        return await _output(request, session, services.settings, slug, "atom.xml")

    @get("/all/feed.json", media_type=JSON_FEED, responses=_JSON_FEED_200)
    async def json_feed_all(
        self, request: Request[Any, Any, Any], session: SessionDep, services: ServicesDep
    ) -> Response[bytes]:
        return await _output(request, session, services.settings, None, "feed.json")

    @get(
        "/categories/{slug:str}/feed.json",
        media_type=JSON_FEED,
        responses={**_JSON_FEED_200, **errors(404)},
    )
    async def json_feed(
        self,
        request: Request[Any, Any, Any],
        session: SessionDep,
        services: ServicesDep,
        slug: FromPath[str],
    ) -> Response[bytes]:
        return await _output(request, session, services.settings, slug, "feed.json")


_FORMATS = {
    "atom.xml": (render_atom, ATOM),
    "feed.json": (render_json_feed, JSON_FEED),
}


async def _output(
    request: Request[Any, Any, Any],
    session: SessionDep,
    settings: Settings,
    slug: str | None,
    name: str,
) -> Response[bytes]:
    """The latest articles of one category (or all) in the format named by `name`."""
    if slug is None:
        title, categories = "feedhub: all categories", None
    else:
        category = await session.scalar(select(Category.name).where(Category.slug == slug))
        if category is None:
            raise NotFoundError(f"category {slug!r} does not exist")
        title, categories = f"feedhub: {category}", [slug]
    articles = await articles_before(session, categories, None, LATEST)
    # Never the request's Host header: behind a shared cache, one request with a forged Host
    # would hand everyone links to the attacker's site.
    base = settings.base_url
    self_url = f"{base}/categories/{slug}/{name}" if slug else f"{base}/all/{name}"
    home = f"{base}/?category={slug}" if slug else f"{base}/"
    render, media_type = _FORMATS[name]
    return _conditional(request, render(title, self_url, home, articles), media_type, articles)
