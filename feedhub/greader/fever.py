"""The Fever API (`/api/fever.php`), for the apps that speak it (Reeder's classic mode,
Unread, Fiery Feeds, ReadKit, the `freshrss-api` library), over the same readers' state as
the Google Reader API.

One URL; the query names what is asked (`?api&groups`, `?api&items&since_id=…`) and the
POSTed `api_key` (md5 of "name:password", as Fever defines it) says who asks: no cookie and
no session, so no CSRF question. A wrong key is `auth: 0` with a 200, as Fever answers;
failed keys count against the client address like failed sign-ins. Groups are categories,
items articles (their ids are the article ids, so `since_id` is arrival order). What the
user hid (feedhub.readers.hidden) is in none of the lists, counts or group marks.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, Router, route
from litestar.datastructures import MultiDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.api.deps import SessionDep
from feedhub.api.identity import Readers, ReadersDep
from feedhub.catalog.icons import icon_ids, icons_of
from feedhub.core.errors import RateLimitedError, ValidationError
from feedhub.db.models import Category, Feed
from feedhub.greader.http import json_response, params_of
from feedhub.greader.render import media_of, with_players
from feedhub.readers import accounts, state
from feedhub.readers.accounts import UserInfo
from feedhub.readers.hidden import hidden_category_ids, hidden_feeds
from feedhub.readers.queries import Item, Scope, list_items
from feedhub.readers.ratelimit import network_of
from feedhub.readers.state import AllRead

__all__ = ["fever_handlers"]

AnyRequest = Request[Any, Any, Any]
API_VERSION = 3
PAGE = 50  # items per request, as Fever serves them
MAX_WITH_IDS = 50
MAX_ID_LIST = 10_000  # unread_item_ids / saved_item_ids: the newest this many
MAX_BODY = 64 * 1024  # a key and a few ids; nothing a Fever client sends is larger
_MAX_ID = 2**63 - 1


def _digits(text: str) -> bool:
    """ASCII decimal digits of a 64-bit number: `str.isdigit` alone also takes "²", which
    `int` then refuses, and `int` refuses more than 4,300 digits (both were 500s)."""
    return text.isascii() and text.isdigit() and len(text) <= 19


def _int(params: MultiDict[str], name: str) -> int | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    if not _digits(raw) or int(raw) > _MAX_ID:
        raise ValidationError(f"{name}: not a number this server gave")
    return int(raw)


def _ids(params: MultiDict[str], name: str) -> tuple[int, ...]:
    raw = [p.strip() for p in (params.get(name) or "").split(",") if p.strip()]
    if len(raw) > MAX_WITH_IDS:
        raise ValidationError(f"{name}: at most {MAX_WITH_IDS} ids at once")
    if not all(_digits(p) and 0 < int(p) <= _MAX_ID for p in raw):
        raise ValidationError(f"{name}: comma-separated article ids")
    return tuple(int(p) for p in raw)


def _item(item: Item) -> dict[str, Any]:
    return {
        "id": item.id, "feed_id": item.feed_id, "title": item.title,
        "author": item.author or "",
        # Fever has no enclosure field: the players in the content, as FreshRSS serves them.
        "html": with_players(item.content or item.summary, media_of(item)),
        "url": item.url or "", "is_saved": int(item.starred), "is_read": int(item.read),
        "created_on_time": int(item.published_at.timestamp()),
    }  # fmt: skip


async def _groups(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """Groups and their feeds, without what the user hid (categories, and feeds)."""
    groups_query = select(Category.id, Category.name)
    if hidden_groups := await hidden_category_ids(session, user_id):
        groups_query = groups_query.where(Category.id.not_in(hidden_groups))
    categories = await session.execute(groups_query.order_by(Category.name))
    links_query = select(Feed.category_id, Feed.id)
    if concealed := await hidden_feeds(session, user_id):
        links_query = links_query.where(Feed.id.not_in(concealed))
    links = await session.execute(links_query.order_by(Feed.id))
    by_group: dict[int, list[str]] = {}
    for group_id, feed_id in links:
        by_group.setdefault(group_id, []).append(str(feed_id))
    return {
        "groups": [{"id": gid, "title": name} for gid, name in categories],
        "feeds_groups": [{"group_id": g, "feed_ids": ",".join(f)} for g, f in by_group.items()],
    }


async def _feeds(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    query = select(Feed.id, Feed.title, Feed.url, Feed.site_url, Feed.created_at)
    if concealed := await hidden_feeds(session, user_id):
        query = query.where(Feed.id.not_in(concealed))
    rows = await session.execute(query.order_by(Feed.id))
    # A feed's favicon has the feed's id; 0 (no favicon) until the poller found one.
    with_icon = await icon_ids(session)
    return [
        {"id": fid, "favicon_id": fid if fid in with_icon else 0, "title": title or url,
         "url": url, "site_url": site or "",
         "is_spark": 0, "last_updated_on_time": int(created.timestamp())}
        for fid, title, url, site, created in rows
    ]  # fmt: skip


async def _favicons(session: AsyncSession) -> list[dict[str, Any]]:
    """Fever's favicons: `data` is a data URI without its `data:` scheme, as Fever wrote it
    (`image/gif;base64,R0lGOD…`)."""
    return [
        {"id": fid, "data": f"{kind};base64,{base64.b64encode(data).decode()}"}
        for fid, kind, data in await icons_of(session)
    ]


async def _id_list(session: AsyncSession, user_id: int, scope: Scope) -> str:
    items = await list_items(session, user_id, scope, limit=MAX_ID_LIST, with_content=False)
    return ",".join(str(i.id) for i in items)


async def _items(session: AsyncSession, user_id: int, params: MultiDict[str]) -> dict[str, Any]:
    with_ids = _ids(params, "with_ids")
    since, before = _int(params, "since_id"), _int(params, "max_id")
    if with_ids:
        items = await list_items(session, user_id, Scope(ids=with_ids), limit=len(with_ids))
    elif before is not None:
        items = await list_items(session, user_id, Scope(), cursor=before, limit=PAGE)
    else:  # since_id (0 when absent): oldest first from there, as clients page forward
        items = await list_items(
            session, user_id, Scope(), cursor=since or 0, oldest_first=True, limit=PAGE
        )
    return {"items": [_item(i) for i in items], "total_items": len(items)}


async def _mark(
    session: AsyncSession, readers: Readers, user: UserInfo, params: MultiDict[str]
) -> None:
    kind, action, target = params.get("mark"), params.get("as"), _int(params, "id")
    if target is None:
        raise ValidationError("id is required with mark")
    if kind == "item":
        if action not in ("read", "unread", "saved", "unsaved"):
            raise ValidationError("as must be read, unread, saved or unsaved")
        change = await state.apply_changes(
            session, user.id, **{{"saved": "starred", "unsaved": "unstarred"}.get(action, action):
                                 [target]},
        )  # fmt: skip
        await readers.events.publish(user.id, change)
        return
    if kind not in ("feed", "group") or action != "read":
        raise ValidationError("mark must be item, feed or group (feeds and groups: as=read)")
    stamp = _int(params, "before")
    before = datetime.fromtimestamp(min(stamp, 2**37), UTC) if stamp else readers.clock()
    feed_ids: list[int] | None
    if kind == "feed":
        feed_ids = [target]
    elif target == 0:  # group 0: every feed ("Kindling")
        feed_ids = None
    else:
        feed_ids = list(await session.scalars(select(Feed.id).where(Feed.category_id == target)))
    if feed_ids == []:
        return
    bound = await state.mark_all_read(session, user.id, feed_ids=feed_ids, before=before)
    feed_id = target if kind == "feed" else None
    await readers.events.publish(user.id, state.StateChange(all_read=AllRead(None, feed_id, bound)))


@route("/fever.php", http_method=["GET", "POST"], request_max_body_size=MAX_BODY)
async def fever(request: AnyRequest, session: SessionDep, readers: ReadersDep) -> Response[bytes]:
    params = await params_of(request)
    body: dict[str, Any] = {"api_version": API_VERSION, "auth": 0}
    client = request.client.host if request.client else "?"
    settings = readers.settings
    keys = [f"net:{network_of(client, settings.login_ipv4_prefix, settings.login_ipv6_prefix)}"]
    # Counted before the key is looked up, as a sign-in is: concurrent guesses cannot race.
    if wait := await readers.limiter.acquire(keys, time.monotonic()):
        raise RateLimitedError("too many wrong Fever API keys; try again later", retry_after=wait)
    user = await accounts.user_by_fever_key(session, params.get("api_key") or "")
    if user is None:
        return json_response(body)  # the attempt stays counted
    await readers.limiter.give_back(keys)
    body["auth"] = 1
    body["last_refreshed_on_time"] = int(readers.clock().timestamp())
    if "mark" in params:
        await _mark(session, readers, user, params)
    if "groups" in params:
        body.update(await _groups(session, user.id))
    if "feeds" in params:
        body["feeds"] = await _feeds(session, user.id)
        body.setdefault("feeds_groups", (await _groups(session, user.id))["feeds_groups"])
    if "favicons" in params:
        body["favicons"] = await _favicons(session)
    if "links" in params:
        body["links"] = []  # Sparks' hot links: feedhub has none
    if "items" in params:
        body.update(await _items(session, user.id, params))
    if "unread_item_ids" in params or params.get("as") in ("read", "unread"):
        body["unread_item_ids"] = await _id_list(session, user.id, Scope(read=False))
    if "saved_item_ids" in params or params.get("as") in ("saved", "unsaved"):
        body["saved_item_ids"] = await _id_list(session, user.id, Scope(starred=True))
    return json_response(body)


def fever_handlers() -> list[Router]:
    return [Router(path="/api", route_handlers=[fever], include_in_schema=False)]
