"""Category output feeds: the latest articles as Atom 1.0 and JSON Feed 1.1.

So feedhub can sit in front of any other reader as a category aggregator. Readers poll
these cheaply: the ETag is a hash of the rendered document (an article edited in place
changes it too), and a matching If-None-Match is answered 304 without a body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import msgspec
from feedgen.feed import FeedGenerator
from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from sqlalchemy import select

from feedhub.api.deps import SessionDep
from feedhub.api.schemas import ArticleJSON
from feedhub.catalog.articles import articles_before
from feedhub.errors import NotFoundError
from feedhub.models import Category

__all__ = ["OutputFeedController", "render_atom", "render_json_feed"]

LATEST = 50


def render_atom(title: str, self_url: str, home_url: str, articles: Sequence[ArticleJSON]) -> bytes:
    """Atom 1.0 written by feedgen (an XML library, not string formatting)."""
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(title)
    fg.link(href=home_url, rel="alternate")
    fg.link(href=self_url, rel="self")
    fg.generator("feedhub")
    fg.updated(max((a.fetched_at for a in articles), default=datetime(2000, 1, 1, tzinfo=UTC)))
    for article in articles:  # newest first, as the document lists them
        entry = fg.add_entry(order="append")
        entry.id(f"{home_url}#article-{article.id}")
        entry.title(article.title)
        if article.url:
            entry.link(href=article.url, rel="alternate")
        if article.summary:
            entry.summary(article.summary, type="html")
        if article.author:
            entry.author(name=article.author)
        entry.published(article.published_at)
        entry.updated(article.fetched_at)
        entry.category(term=article.category)
    data: bytes = fg.atom_str(pretty=False)
    return data


def render_json_feed(
    title: str, self_url: str, home_url: str, articles: Sequence[ArticleJSON]
) -> bytes:
    items = []
    for a in articles:
        item: dict[str, object] = {
            "id": str(a.id),
            "title": a.title,
            "content_html": a.summary or "",
            "date_published": a.published_at.isoformat(),
            "date_modified": a.fetched_at.isoformat(),
            "tags": [a.category],
        }
        if a.url:
            item["url"] = a.url
        if a.author:
            item["authors"] = [{"name": a.author}]
        items.append(item)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": home_url,
        "feed_url": self_url,
        "items": items,
    }
    return msgspec.json.encode(document)


def _conditional(
    request: Request[Any, Any, Any],
    body: bytes,
    media_type: str,
    articles: Sequence[ArticleJSON],
) -> Response[bytes]:
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
    if articles:
        headers["Last-Modified"] = format_datetime(
            max(a.fetched_at for a in articles).astimezone(UTC), usegmt=True
        )
    match = request.headers.get("if-none-match", "")
    if etag in {tag.strip() for tag in match.split(",")} or match.strip() == "*":
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


class OutputFeedController(Controller):
    include_in_schema = True

    @get("/all/atom.xml")
    async def atom_all(
        self, request: Request[Any, Any, Any], session: SessionDep
    ) -> Response[bytes]:
        return await _output(request, session, None, "atom.xml")

    @get("/categories/{slug:str}/atom.xml")
    async def atom(
        self, request: Request[Any, Any, Any], session: SessionDep, slug: FromPath[str]
    ) -> Response[bytes]:
        return await _output(request, session, slug, "atom.xml")

    @get("/all/feed.json")
    async def json_feed_all(
        self, request: Request[Any, Any, Any], session: SessionDep
    ) -> Response[bytes]:
        return await _output(request, session, None, "feed.json")

    @get("/categories/{slug:str}/feed.json")
    async def json_feed(
        self, request: Request[Any, Any, Any], session: SessionDep, slug: FromPath[str]
    ) -> Response[bytes]:
        return await _output(request, session, slug, "feed.json")


_FORMATS = {
    "atom.xml": (render_atom, "application/atom+xml; charset=utf-8"),
    "feed.json": (render_json_feed, "application/feed+json"),
}


async def _output(
    request: Request[Any, Any, Any], session: SessionDep, slug: str | None, name: str
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
    base = str(request.base_url).rstrip("/")
    self_url = f"{base}/categories/{slug}/{name}" if slug else f"{base}/all/{name}"
    home = f"{base}/?category={slug}" if slug else f"{base}/"
    render, media_type = _FORMATS[name]
    return _conditional(request, render(title, self_url, home, articles), media_type, articles)
