"""Admin API: categories and feeds, refresh now. Every route sits behind the bearer guard."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody, PathParameter
from msgspec import UNSET

from feedhub.api.auth import admin_guard
from feedhub.api.deps import ServicesDep, SessionDep
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
    FeedPatch,
    PushStatusJSON,
    RefreshJSON,
)
from feedhub.catalog import categories, feeds, opml
from feedhub.catalog.opml import ImportReport
from feedhub.catalog.views import FeedChanges
from feedhub.core.config import Settings
from feedhub.core.errors import ValidationError
from feedhub.ingest.guard import check_feed_url

__all__ = ["AdminController"]

# Ids in paths are bounded like every integer a client sends (schemas.MAX_ID): past a
# BIGINT they were a 500.
Id = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
JobId = Annotated[str, PathParameter(max_length=64)]


def _check_poll_interval(value: object, settings: Settings) -> None:
    """The bounds are settings (FEEDHUB_MIN/MAX_POLL_INTERVAL), so the body's type cannot
    carry them: 400 with the field named, as a type error of the body would be."""
    low, high = settings.min_poll_interval, settings.max_poll_interval
    if isinstance(value, int) and not low <= value <= high:
        raise ValidationException(
            detail=f"poll_interval must be between {low} and {high} seconds",
            extra=[{"key": "poll_interval", "message": f"must be in {low}..{high}"}],
        )


class AdminController(Controller):
    path = "/api/admin"
    guards = [admin_guard]  # noqa: RUF012
    security = [{BEARER: []}]  # noqa: RUF012

    # -- categories --------------------------------------------------------------------------
    @post("/categories", responses=errors(400, 401, 409, 422))
    async def create_category(
        self, data: JSONBody[CategoryCreate], session: SessionDep, services: ServicesDep
    ) -> CategoryJSON:
        category = await categories.create_category(session, data.name, data.slug)
        services.hub.learn_category(category.slug)  # its first streams need no read
        return category

    @patch("/categories/{slug:str}", responses=errors(400, 401, 404, 422))
    async def update_category(
        self, slug: FromPath[str], data: JSONBody[CategoryUpdate], session: SessionDep
    ) -> CategoryJSON:
        if data.name is UNSET:
            raise ValidationError("nothing to change: send a name")
        return await categories.rename_category(session, slug, data.name)

    @delete("/categories/{slug:str}", responses=errors(401, 404, 409))
    async def delete_category(
        self, slug: FromPath[str], session: SessionDep, services: ServicesDep
    ) -> None:
        await categories.delete_category(session, slug)
        services.hub.forget_category(slug)  # its streams are a 404 again

    # -- feeds -------------------------------------------------------------------------------
    @get("/feeds", responses=errors(401))
    async def list_feeds(self, session: SessionDep) -> list[FeedJSON]:
        return await feeds.list_feeds(session)

    @post("/feeds", responses=errors(400, 401, 409, 422))
    async def create_feed(
        self, data: JSONBody[FeedCreate], session: SessionDep, services: ServicesDep
    ) -> FeedJSON:
        """An HTML page URL is resolved to its feed; the first poll starts at once."""
        settings = services.settings
        _check_poll_interval(data.poll_interval, settings)
        feed = await feeds.subscribe(
            session, data.url, category=data.category, title=data.title,
            poll_interval=data.poll_interval, allow_private=settings.allow_private_networks,
            probe=services.poller.probe_url, now=datetime.now(UTC),
        )  # fmt: skip
        if services.scheduler_on:
            services.poller.poll_claimed([feed.id])
        return feed

    @get("/feeds/{feed_id:int}", responses=errors(400, 401, 404))
    async def get_feed(self, feed_id: Id, session: SessionDep) -> FeedJSON:
        return await feeds.get_feed(session, feed_id)

    @patch("/feeds/{feed_id:int}", responses=errors(400, 401, 404, 422))
    async def update_feed(
        self,
        feed_id: Id,
        data: JSONBody[FeedPatch],
        session: SessionDep,
        services: ServicesDep,
    ) -> FeedJSON:
        _check_poll_interval(data.poll_interval, services.settings)
        changes = FeedChanges(**msgspec.structs.asdict(data))
        info = await feeds.update_feed(session, feed_id, changes, now=datetime.now(UTC))
        if data.enabled is False and services.push is not None:
            services.push.subscriber.forget_soon(feed_id)  # no pushes for a disabled feed
        return info

    @delete("/feeds/{feed_id:int}", responses=errors(400, 401, 404))
    async def delete_feed(self, feed_id: Id, session: SessionDep, services: ServicesDep) -> None:
        await feeds.delete_feed(session, feed_id)
        if services.push is not None:
            # Now rather than at the next maintenance run (which catches CLI deletions).
            services.push.subscriber.forget_soon(feed_id)

    @post("/feeds/{feed_id:int}/refresh", status_code=200, responses=errors(400, 401, 404))
    async def refresh_feed(
        self, feed_id: Id, session: SessionDep, services: ServicesDep
    ) -> RefreshJSON:
        await feeds.get_feed(session, feed_id)  # 404 before any work
        outcome = await services.poller.poll_now(feed_id)
        return RefreshJSON(len(outcome.new_articles), outcome.status, outcome.error)

    @get("/push", responses=errors(401))
    async def push_status(self, services: ServicesDep) -> PushStatusJSON:
        """WebSub push: on (FEEDHUB_PUBLIC_URL is set) or off, in words."""
        if services.push is None:
            return PushStatusJSON(False, "off: this process receives no pushes")
        subscriber = services.push.subscriber
        return PushStatusJSON(subscriber.enabled, subscriber.status)

    @post("/discover", status_code=200, responses=errors(400, 401, 422))
    async def discover(
        self, data: JSONBody[DiscoverRequest], session: SessionDep, services: ServicesDep
    ) -> list[CandidateJSON]:
        """The feeds a URL leads to (itself, or a page's feeds), without subscribing."""
        url = await check_feed_url(data.url, allow_private=services.settings.allow_private_networks)
        found = await services.poller.discover(url)
        return [
            CandidateJSON(f.url, f.title, await feeds.feed_url_taken(session, f.url)) for f in found
        ]

    # -- subscriptions -----------------------------------------------------------------------
    @post("/opml", status_code=200, responses=errors(400, 401, 422))
    async def import_opml(
        self, request: Request[Any, Any, Any], services: ServicesDep
    ) -> ImportReport:
        """Body: an OPML document of at most `opml_sync_max_feeds` feeds (larger ones go
        through the import jobs). Answers a per-feed report; 422 if it is not OPML."""
        data = await request.body()
        limit = services.settings.opml_sync_max_feeds
        services.jobs.check_size(data, limit, hint=": import it with POST /api/admin/opml/jobs")
        return await opml.import_opml(
            services.sessions,
            data,
            default_category=services.settings.default_category,
            allow_private=services.settings.allow_private_networks,
            now=datetime.now(UTC),
        )

    @post("/opml/jobs", status_code=202, responses=errors(400, 401, 409, 422))
    async def start_opml_import(
        self, request: Request[Any, Any, Any], services: ServicesDep
    ) -> ImportJobJSON:
        """Body: an OPML document. Imported in the background; poll the answer's `id`."""
        return services.jobs.start(await request.body())

    @get("/opml/jobs/{job_id:str}", responses=errors(401, 404))
    async def opml_import_status(self, job_id: JobId, services: ServicesDep) -> ImportJobJSON:
        return services.jobs.get(job_id)

    @delete("/opml/jobs/{job_id:str}", status_code=200, responses=errors(401, 404))
    async def cancel_opml_import(self, job_id: JobId, services: ServicesDep) -> ImportJobJSON:
        """Stops the import after the feed in progress; the feeds created so far stay."""
        return await services.jobs.cancel(job_id)

    @get("/opml", media_type="text/x-opml", responses=errors(401))
    async def export_opml(self, session: SessionDep) -> Response[bytes]:
        return Response(
            await opml.export_opml(session),
            media_type="text/x-opml; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="feedhub.opml"'},
        )

    @delete("/articles/{article_id:int}", responses=errors(400, 401, 404))
    async def delete_article(self, article_id: Id, session: SessionDep) -> None:
        """Deleted for good: a tombstone keeps a re-poll from importing it again."""
        await feeds.delete_article(session, article_id, now=datetime.now(UTC))
