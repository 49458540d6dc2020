"""Admin API: categories and feeds, refresh now. Every route sits behind the bearer guard."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import Parameter
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.api import catalog, subscriptions
from feedhub.api.auth import admin_guard
from feedhub.api.deps import Services
from feedhub.api.jobs import ImportJobJSON
from feedhub.api.openapi import BEARER, errors
from feedhub.api.schemas import (
    MAX_ID,
    CandidateJSON,
    CategoryCreate,
    CategoryJSON,
    CategoryUpdate,
    DiscoverRequest,
    FeedCreate,
    FeedJSON,
    FeedUpdate,
    RefreshJSON,
)
from feedhub.api.subscriptions import ImportReport
from feedhub.errors import ValidationError
from feedhub.ingest.guard import check_feed_url

__all__ = ["AdminController"]

# Ids in paths are bounded like every integer a client sends (schemas.MAX_ID).
FeedId = Annotated[int, Parameter(ge=1, le=MAX_ID)]
ArticleId = Annotated[int, Parameter(ge=1, le=MAX_ID)]
JobId = Annotated[str, Parameter(max_length=64)]


class AdminController(Controller):
    path = "/api/admin"
    guards = [admin_guard]  # noqa: RUF012
    security = [{BEARER: []}]  # noqa: RUF012

    # -- categories --------------------------------------------------------------------------
    @post("/categories", responses=errors(400, 401, 409, 422))
    async def create_category(
        self, data: CategoryCreate, session: AsyncSession, services: Services
    ) -> CategoryJSON:
        category = await catalog.create_category(session, data.name, data.slug)
        services.hub.learn_category(category.slug)  # its first streams need no read
        return category

    @patch("/categories/{slug:str}", responses=errors(400, 401, 404, 422))
    async def update_category(
        self, slug: str, data: CategoryUpdate, session: AsyncSession
    ) -> CategoryJSON:
        if data.name is UNSET:
            raise ValidationError("nothing to change: send a name")
        return await catalog.rename_category(session, slug, data.name)

    @delete("/categories/{slug:str}", responses=errors(401, 404, 409))
    async def delete_category(self, slug: str, session: AsyncSession, services: Services) -> None:
        await catalog.delete_category(session, slug)
        services.hub.forget_category(slug)  # its streams are a 404 again

    # -- feeds -------------------------------------------------------------------------------
    @get("/feeds", responses=errors(401))
    async def list_feeds(self, session: AsyncSession) -> list[FeedJSON]:
        return await catalog.list_feeds(session)

    @post("/feeds", responses=errors(400, 401, 409, 422))
    async def create_feed(
        self, data: FeedCreate, session: AsyncSession, services: Services
    ) -> FeedJSON:
        """An HTML page URL is resolved to its feed; the first poll starts at once."""
        settings = services.settings
        url = await check_feed_url(data.url, allow_private=settings.allow_private_networks)
        # Cheap checks first, so a rejected request costs no fetch.
        await catalog.check_new_feed(session, url=url, category=data.category)
        probe = await services.poller.probe(url)
        feed = await catalog.create_feed(
            session, url=probe.url, category=data.category,
            title=data.title, poll_interval=data.poll_interval,
        )  # fmt: skip
        if services.scheduler_on:
            services.poller.poll_soon(feed.id)
        return feed

    @get("/feeds/{feed_id:int}", responses=errors(400, 401, 404))
    async def get_feed(self, feed_id: FeedId, session: AsyncSession) -> FeedJSON:
        return await catalog.get_feed(session, feed_id)

    @patch("/feeds/{feed_id:int}", responses=errors(400, 401, 404, 422))
    async def update_feed(
        self, feed_id: FeedId, data: FeedUpdate, session: AsyncSession
    ) -> FeedJSON:
        return await catalog.update_feed(session, feed_id, data)

    @delete("/feeds/{feed_id:int}", responses=errors(400, 401, 404))
    async def delete_feed(self, feed_id: FeedId, session: AsyncSession) -> None:
        await catalog.delete_feed(session, feed_id)

    @post("/feeds/{feed_id:int}/refresh", status_code=200, responses=errors(400, 401, 404))
    async def refresh_feed(
        self, feed_id: FeedId, session: AsyncSession, services: Services
    ) -> RefreshJSON:
        await catalog.get_feed(session, feed_id)  # 404 before any work
        outcome = await services.poller.refresh(feed_id)
        return RefreshJSON(len(outcome.new_articles), outcome.status, outcome.error)

    @post("/discover", status_code=200, responses=errors(400, 401, 422))
    async def discover(
        self, data: DiscoverRequest, session: AsyncSession, services: Services
    ) -> list[CandidateJSON]:
        """The feeds a URL leads to (itself, or a page's feeds), without subscribing."""
        url = await check_feed_url(data.url, allow_private=services.settings.allow_private_networks)
        found = await services.poller.discover(url)
        return [
            CandidateJSON(f.url, f.title, await catalog.feed_url_taken(session, f.url))
            for f in found
        ]

    # -- subscriptions -----------------------------------------------------------------------
    @post("/opml", status_code=200, responses=errors(400, 401, 422))
    async def import_opml(
        self, request: Request[Any, Any, Any], services: Services
    ) -> ImportReport:
        """Body: an OPML document of at most `opml_sync_max_feeds` feeds (larger ones go
        through the import jobs). Answers a per-feed report; 422 if it is not OPML."""
        data = await request.body()
        limit = services.settings.opml_sync_max_feeds
        services.jobs.check_size(data, limit, hint=": import it with POST /api/admin/opml/jobs")
        report = await subscriptions.import_opml(
            services.sessions,
            data,
            default_category=services.settings.default_category,
            allow_private=services.settings.allow_private_networks,
        )
        return report

    @post("/opml/jobs", status_code=202, responses=errors(400, 401, 409, 422))
    async def start_opml_import(
        self, request: Request[Any, Any, Any], services: Services
    ) -> ImportJobJSON:
        """Body: an OPML document. Imported in the background; poll the answer's `id`."""
        return services.jobs.start(await request.body())

    @get("/opml/jobs/{job_id:str}", responses=errors(401, 404))
    async def opml_import_status(self, job_id: JobId, services: Services) -> ImportJobJSON:
        return services.jobs.get(job_id)

    @delete("/opml/jobs/{job_id:str}", status_code=200, responses=errors(401, 404))
    async def cancel_opml_import(self, job_id: JobId, services: Services) -> ImportJobJSON:
        """Stops the import after the feed in progress; the feeds created so far stay."""
        return await services.jobs.cancel(job_id)

    @get("/opml", media_type="text/x-opml", responses=errors(401))
    async def export_opml(self, session: AsyncSession) -> Response[bytes]:
        return Response(
            await subscriptions.export_opml(session),
            media_type="text/x-opml; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="feedhub.opml"'},
        )

    @delete("/articles/{article_id:int}", responses=errors(400, 401, 404))
    async def delete_article(self, article_id: ArticleId, session: AsyncSession) -> None:
        """Deleted for good: a tombstone keeps a re-poll from importing it again."""
        await catalog.delete_article(session, article_id)
