"""Subscription and label edits from apps.

Feeds and categories are shared by every user, so what changes them for everyone
(subscribing to a new feed, a title, a move, a rename) is for admins only (403 for a
reader), through the same catalog rules and URL guard as the admin API. What an app's user
does for themself is theirs, whatever their role: `ac=unsubscribe` hides the feed for the
caller, `disable-tag` hides the category, and subscribing to a feed they hid shows it
again (feedhub.readers.hidden). Deleting a feed or a category for everyone is done in the
admin API, the page or the CLI, never by an app's unsubscribe.
"""

from __future__ import annotations

import contextlib
from typing import Any

from litestar import Request
from litestar.datastructures import MultiDict
from msgspec import UNSET
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.api.deps import Services
from feedhub.api.identity import Readers, require_admin, require_user
from feedhub.catalog import categories, feeds
from feedhub.catalog.views import FeedChanges
from feedhub.core.errors import ConflictError, NotFoundError, ValidationError
from feedhub.db.models import Category, Feed
from feedhub.greader import protocol, service
from feedhub.ingest.opml import slugify
from feedhub.readers import hidden

__all__ = ["disable_label", "edit_subscription", "rename_label"]


def _label(tag: str) -> str | None:
    tag = protocol.normalize_tag(tag)
    return tag[len(protocol.LABEL_PREFIX) :] if tag.startswith(protocol.LABEL_PREFIX) else None


async def ensure_category(session: AsyncSession, label: str) -> str:
    """The slug of the category a label names, created when it does not exist yet."""
    try:
        return (await service.category_for_label(session, label)).slug
    except NotFoundError:
        pass
    slug = slugify(label)
    if not await session.scalar(select(Category.id).where(Category.slug == slug)):
        with contextlib.suppress(ConflictError):  # created meanwhile: fine
            await categories.create_category(session, label, slug)
    return slug


async def edit_subscription(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    readers: Readers,
    params: MultiDict[str],
) -> int:
    """`ac=subscribe|unsubscribe|edit`, `s=feed/…`, `t=` title, `a=`/`r=` labels."""
    user, _ = require_user(request)
    services: Services = request.app.state.services
    action = params.get("ac") or "edit"
    stream = protocol.parse_stream(params.get("s") or "") if params.get("s") else None
    if stream is None or stream.kind != "feed" or not stream.value:
        raise ValidationError("s must name a feed: feed/<url> or feed/<id>")
    if action not in ("subscribe", "unsubscribe", "edit"):
        raise ValidationError("ac must be subscribe, unsubscribe or edit")
    labels = [name for name in map(_label, params.getall("a", [])) if name]
    title = (params.get("t") or "").strip() or None
    existing = await service.existing_feed(session, stream)
    if action == "unsubscribe":
        if existing is None:
            raise NotFoundError(f"feed {stream.value!r} does not exist")
        await hidden.hide_feed(session, user.id, existing)
        return existing
    if (
        action == "subscribe"
        and existing is not None
        and existing in await hidden.hidden_feeds(session, user.id)
    ):
        # Back in the caller's lists (hidden one by one, or by its category).
        await hidden.unhide_feed(session, user.id, existing)
        category_id = await session.scalar(select(Feed.category_id).where(Feed.id == existing))
        if category_id is not None:
            await hidden.unhide_category(session, user.id, int(category_id))
        return existing
    require_admin(request)
    if action == "subscribe":
        settings = readers.settings
        slug = await ensure_category(session, labels[0] if labels else settings.default_category)
        feed = await feeds.subscribe(
            session, stream.value, category=slug, title=title,
            allow_private=settings.allow_private_networks,
            probe=services.poller.probe_url, now=readers.clock(),
        )  # fmt: skip
        # Polled before answering, as FreshRSS does: the app lists the new subscription
        # with its title and articles, not its URL and nothing until the next sync.
        await services.poller.poll_now(feed.id)
        return feed.id
    if existing is None:
        raise NotFoundError(f"feed {stream.value!r} does not exist")
    feed_id = existing
    new_category = await ensure_category(session, labels[0]) if labels else None
    change = FeedChanges(
        title=title if title is not None else UNSET,
        category=new_category if new_category is not None else UNSET,
    )
    await feeds.update_feed(session, feed_id, change, now=readers.clock())
    return feed_id


async def rename_label(
    request: Request[Any, Any, Any], session: AsyncSession, source: str, dest: str
) -> None:
    require_admin(request)
    old, new = _label(source) or source, _label(dest) or dest
    if not old or not new.strip():
        raise ValidationError("rename-tag needs s=user/-/label/<old> and dest=user/-/label/<new>")
    category = await service.category_for_label(session, old)
    await categories.rename_category(session, category.slug, new)


async def disable_label(request: Request[Any, Any, Any], session: AsyncSession, tag: str) -> None:
    """Deleting a label in an app hides its category for the caller (not for everyone)."""
    user, _ = require_user(request)
    name = _label(tag) or tag
    category = await service.category_for_label(session, name)
    await hidden.hide_category(session, user.id, category.id)
