"""`/api/me/hidden`: the feeds and categories a signed-in reader hid for themself
(docs/readers-api.md). Thin, as `feedhub.api.me`: CSRF is the identity middleware's."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, put
from litestar.params import PathParameter

from feedhub.api.deps import SessionDep
from feedhub.api.identity import require_user
from feedhub.api.openapi import errors
from feedhub.api.reader_schemas import HiddenCategoryJSON, HiddenFeedJSON, HiddenJSON
from feedhub.core.errors import NotFoundError
from feedhub.core.types import MAX_ID
from feedhub.db.models import Feed
from feedhub.readers import hidden

__all__ = ["HiddenController"]

AnyRequest = Request[Any, Any, Any]
PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
# A category by id, slug or name (a name is at most 200 characters).
CategoryKey = Annotated[str, PathParameter(min_length=1, max_length=200)]


async def _hidden_json(session: SessionDep, user_id: int) -> HiddenJSON:
    found = await hidden.list_hidden(session, user_id)
    return HiddenJSON(
        [HiddenFeedJSON(f.id, f.title, f.category) for f in found.feeds],
        [HiddenCategoryJSON(c.id, c.slug, c.name) for c in found.categories],
    )


class HiddenController(Controller):
    path = "/api/me/hidden"

    @get("/", responses=errors(400, 401))
    async def hidden_list(self, request: AnyRequest, session: SessionDep) -> HiddenJSON:
        user, _ = require_user(request)
        return await _hidden_json(session, user.id)

    @put("/feeds/{feed_id:int}", status_code=200, responses=errors(400, 401, 403, 404, 422))
    async def hide_feed(
        self, request: AnyRequest, feed_id: PathId, session: SessionDep
    ) -> HiddenJSON:
        """Idempotent; answers the reader's hidden feeds and categories."""
        user, _ = require_user(request)
        await hidden.hide_feed(session, user.id, feed_id)
        return await _hidden_json(session, user.id)

    @delete("/feeds/{feed_id:int}", status_code=200, responses=errors(400, 401, 403, 404))
    async def show_feed(
        self, request: AnyRequest, feed_id: PathId, session: SessionDep
    ) -> HiddenJSON:
        """Idempotent; a feed of a hidden category stays hidden with its category."""
        user, _ = require_user(request)
        if await session.get(Feed, feed_id) is None:
            raise NotFoundError(f"feed {feed_id} does not exist")
        await hidden.unhide_feed(session, user.id, feed_id)
        return await _hidden_json(session, user.id)

    @put(
        "/categories/{category:str}",
        status_code=200,
        responses=errors(400, 401, 403, 404, 422),
    )
    async def hide_category(
        self, request: AnyRequest, category: CategoryKey, session: SessionDep
    ) -> HiddenJSON:
        """The category by id, slug or name; every feed in it is hidden, now and later."""
        user, _ = require_user(request)
        await hidden.hide_category(session, user.id, await hidden.category_id_of(session, category))
        return await _hidden_json(session, user.id)

    @delete("/categories/{category:str}", status_code=200, responses=errors(400, 401, 403, 404))
    async def show_category(
        self, request: AnyRequest, category: CategoryKey, session: SessionDep
    ) -> HiddenJSON:
        user, _ = require_user(request)
        await hidden.unhide_category(
            session, user.id, await hidden.category_id_of(session, category)
        )
        return await _hidden_json(session, user.id)
