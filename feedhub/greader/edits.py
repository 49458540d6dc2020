"""Subscription and label edits from apps. Feeds and categories are shared by every user,
so these are for admins only (403 for a reader), and go through the same catalog rules
and URL guard as the admin API."""

from __future__ import annotations

import contextlib
from typing import Any

from litestar import Request
from litestar.datastructures import MultiDict
from msgspec import UNSET
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.api.deps import Services
from feedhub.api.identity import Readers, require_admin
from feedhub.catalog import categories, feeds
from feedhub.catalog.views import FeedChanges
from feedhub.core.errors import ConflictError, NotFoundError, ValidationError
from feedhub.db.models import Category
from feedhub.greader import protocol, service
from feedhub.ingest.opml import slugify

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
    require_admin(request)
    services: Services = request.app.state.services
    action = params.get("ac") or "edit"
    stream = protocol.parse_stream(params.get("s") or "") if params.get("s") else None
    if stream is None or stream.kind != "feed" or not stream.value:
        raise ValidationError("s must name a feed: feed/<url> or feed/<id>")
    labels = [name for name in map(_label, params.getall("a", [])) if name]
    title = (params.get("t") or "").strip() or None
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
    scope = await service.scope_for(session, stream)
    if scope is None or not scope.feed_ids:
        raise NotFoundError(f"feed {stream.value!r} does not exist")
    feed_id = scope.feed_ids[0]
    if action == "unsubscribe":
        await feeds.delete_feed(session, feed_id)
        return feed_id
    if action != "edit":
        raise ValidationError("ac must be subscribe, unsubscribe or edit")
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
    """Deleting a label deletes its category, which must have no feeds left (409)."""
    require_admin(request)
    name = _label(tag) or tag
    category = await service.category_for_label(session, name)
    await categories.delete_category(session, category.slug)
