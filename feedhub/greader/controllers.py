"""Google Reader API routes: thin handlers over `protocol` (pure), `service` and
`feedhub.readers`. Paths as apps expect them (DESIGN.md "Readers"); the same routes are
also served under `/api/greader.php`, the prefix apps add for a "FreshRSS" account.

Handlers take the Readers object from `readers_of`, not as a dependency: with the session
that would be two, which Litestar resolves in a task group of their own every request.

Auth: `Authorization: GoogleLogin auth=<token>` from ClientLogin (settled by the identity
middleware). The `T` token of a POST is checked when sent (a wrong one is 401 with
`X-Reader-Google-Bad-Token`, so apps fetch a new one); a missing one is accepted, since the
auth header, not a cookie, is what proves the caller (no cross-site risk).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post, route
from litestar.datastructures import MultiDict
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.api.deps import ServicesDep, SessionDep
from feedhub.api.identity import readers_of
from feedhub.catalog.opml import export_opml
from feedhub.core.errors import AuthError, ValidationError
from feedhub.greader import protocol, service
from feedhub.greader.edits import disable_label, edit_subscription, rename_label
from feedhub.greader.http import (
    BadToken as _BadToken,
    bad_token as _bad_token,
    caller as _caller,
    change_of as _change,
    cursor_of as _cursor,
    json_response as _json,
    params_of as _params,
    parse_param as _int,
    path_stream_id as _path_stream,
    stream_of as _stream,
    text_response as _text,
)
from feedhub.greader.paging import MAX_ITEMS, ROWS_AT_ONCE, stream_page, stream_scope
from feedhub.greader.render import atom_size, atom_stream, item_json, subscriptions_json
from feedhub.readers import state
from feedhub.readers.app_sessions import open_app_session
from feedhub.readers.hidden import hidden_feeds
from feedhub.readers.queries import Item, Scope, list_items, list_refs
from feedhub.readers.state import AllRead, StateChange

__all__ = ["greader_handlers"]

AnyRequest = Request[Any, Any, Any]
_JSON = "application/json"
MAX_IDS = 10_000


# -- sign-in -------------------------------------------------------------------------------------
@post("/accounts/ClientLogin", status_code=200)
async def client_login(request: AnyRequest, session: SessionDep) -> Response[Any]:
    """Credentials in the POST body only: a URL is written to access logs and proxies'."""
    readers = readers_of(request)
    if {"Email", "Passwd"} & set(request.query_params):
        raise ValidationError("send Email and Passwd in the POST body, never in the URL")
    form = await request.form()
    params = MultiDict([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    name, password = params.get("Email") or "", params.get("Passwd") or ""
    client = request.client.host if request.client else "?"
    try:
        user = await readers.sign_in(session, name, password, client)
    except AuthError:
        return _text("Error=BadAuthentication\n", 401)
    agent = request.headers.get("user-agent")
    token = await open_app_session(session, user, password, agent, readers.clock())
    if (params.get("output") or request.query_params.get("output")) == "json":
        return _json({"SID": token, "LSID": "null", "Auth": token})
    return _text(f"SID={token}\nLSID=null\nAuth={token}\n")


# -- reads ---------------------------------------------------------------------------------------
@get("/reader/api/0/token")
async def token(request: AnyRequest) -> Response[str]:
    _, info = _caller(request)
    return _text(info.csrf_token)  # no newline: apps send it back as it is


@get("/reader/api/0/user-info")
async def user_info(request: AnyRequest) -> Response[bytes]:
    user, _ = _caller(request)
    return _json({
        "userId": str(user.id), "userName": user.name, "userProfileId": str(user.id),
        # feedhub keeps no e-mail address: a name that is one, else nothing.
        "userEmail": user.name if "@" in user.name else "", "isBloggerUser": False,
        "signupTimeSec": int(user.created_at.timestamp()), "isMultiLoginEnabled": False,
    })  # fmt: skip


def _base_url(request: AnyRequest) -> str:
    """Where the app reaches feedhub: FEEDHUB_PUBLIC_URL, else the address it asked at (an
    app's answer is its own, behind its token: no shared cache keeps it)."""
    readers = readers_of(request)
    if readers.settings.public_url:
        return readers.settings.base_url
    return str(request.base_url).rstrip("/")


@get("/reader/api/0/subscription/list")
async def subscription_list(request: AnyRequest) -> Response[bytes]:
    """The call apps make most, one statement: on a plain connection, with no dependency
    to resolve and no ORM session around it."""
    user, _ = _caller(request)
    async with readers_of(request).engine.connect() as conn:
        subscriptions = await service.list_subscriptions(conn, user.id)
    body = subscriptions_json(subscriptions, _base_url(request))
    return Response(body, media_type=_JSON, status_code=200)


@get("/reader/api/0/subscription/export")
async def subscription_export(request: AnyRequest, session: SessionDep) -> Response[bytes]:
    """Every feed as OPML, as FreshRSS exports them for an app (readers see the same list
    in subscription/list: without the feeds they hid)."""
    user, _ = _caller(request)
    opml = await export_opml(session, await hidden_feeds(session, user.id))
    return Response(
        opml, media_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="feedhub.opml"'},
    )  # fmt: skip


@get("/reader/api/0/tag/list")
async def tag_list(request: AnyRequest, session: SessionDep) -> Response[bytes]:
    user, _ = _caller(request)
    tags: list[dict[str, str]] = [{"id": protocol.STARRED}]
    tags += [
        {"id": protocol.label_id(name), "type": "folder"}
        for name in await service.list_labels(session, user.id)
    ]
    return _json({"tags": tags})


@get("/reader/api/0/unread-count")
async def unread_count(request: AnyRequest, session: SessionDep) -> Response[bytes]:
    user, _ = _caller(request)
    counts = await service.unread_counts(session, user.id)
    return _json({"max": max([c.count for c in counts], default=0), "unreadcounts": [
        {"id": c.stream_id, "count": c.count,
         "newestItemTimestampUsec": str(protocol.usec(c.newest)) if c.newest else "0"}
        for c in counts
    ]})  # fmt: skip


async def _contents(
    request: AnyRequest, session: AsyncSession, raw: str | None, budget: int
) -> Response[bytes]:
    user, _ = _caller(request)
    params = await _params(request)
    encoded: dict[int, bytes] = {}

    def measure(item: Item) -> int:
        encoded[item.id] = msgspec.json.encode(item_json(item))
        return len(encoded[item.id])

    stream, items, continuation = await stream_page(
        session, user, raw if raw is not None else params.get("s"), params,
        measure=measure, budget=budget,
    )  # fmt: skip
    body: dict[str, Any] = {
        "id": raw.lstrip("/") if raw else (params.get("s") or protocol.READING_LIST),
        "updated": int(time.time()),
        "items": [msgspec.Raw(encoded[i.id]) for i in items],
    }
    if continuation:
        body["continuation"] = continuation
    return _json(body)


@get("/reader/api/0/stream/contents")
async def stream_contents_query(request: AnyRequest, session: SessionDep) -> Response[bytes]:
    readers = readers_of(request)
    return await _contents(request, session, None, readers.settings.greader_answer_bytes)


@get("/reader/api/0/stream/contents/{stream_id:path}")
async def stream_contents(
    request: AnyRequest, session: SessionDep, stream_id: FromPath[str]
) -> Response[bytes]:
    readers = readers_of(request)
    raw = _path_stream(request, "/stream/contents/", stream_id)
    return await _contents(request, session, raw, readers.settings.greader_answer_bytes)


@get("/reader/api/0/stream/items/ids")
async def stream_item_ids(request: AnyRequest, session: SessionDep) -> Response[bytes]:
    user, _ = _caller(request)
    params = await _params(request)
    if not params.get("s"):
        raise ValidationError("s (a stream id) is required")
    # An id list: three columns per article, not the whole row, so no byte budget.
    limit = _int(params, "n", protocol.parse_count, default=20, maximum=MAX_IDS)
    scope = await stream_scope(session, _stream(params.get("s")), params)
    items = [] if scope is None else await list_refs(
        session, user.id, scope, cursor=_cursor(params), oldest_first=params.get("r") == "o",
        limit=limit + 1,
    )  # fmt: skip
    continuation = str(items[limit - 1].id) if len(items) > limit else None
    items = items[:limit]
    body: dict[str, Any] = {"itemRefs": [
        {"id": str(i.id), "directStreamIds": [f"feed/{i.feed_id}"],
         "timestampUsec": str(protocol.usec(i.fetched_at))}
        for i in items
    ]}  # fmt: skip
    if continuation:
        body["continuation"] = continuation
    return _json(body)


def _item_ids(params: MultiDict[str]) -> list[int]:
    try:
        ids = [protocol.parse_item_id(v) for v in params.getall("i", [])]
    except ValueError as exc:
        raise ValidationError(f"i: {exc}") from None
    if len(ids) > MAX_ITEMS:
        raise ValidationError(f"at most {MAX_ITEMS} items at once")
    return ids


@route("/reader/api/0/stream/items/contents", http_method=["GET", "POST"])
async def stream_items_contents(request: AnyRequest, services: ServicesDep) -> Stream:
    """Written while it is read, a few rows at a time: 1,000 ids of megabyte articles held
    a gigabyte answer in memory. The ids are checked before the first byte is sent."""
    user, _ = _caller(request)
    ids = sorted(set(_item_ids(await _params(request))), reverse=True)  # newest first
    return Stream(
        _items_contents(services.sessions, user.id, ids), media_type=_JSON, status_code=200
    )


async def _items_contents(
    sessions: async_sessionmaker[AsyncSession], user_id: int, ids: list[int]
) -> AsyncIterator[bytes]:
    head = {"id": protocol.READING_LIST, "updated": int(time.time())}
    yield msgspec.json.encode(head)[:-1] + b',"items":['
    separator = b""
    for start in range(0, len(ids), ROWS_AT_ONCE):
        chunk = ids[start : start + ROWS_AT_ONCE]
        async with sessions() as session:
            items = await list_items(session, user_id, Scope(ids=tuple(chunk)), limit=len(chunk))
        for item in items:
            yield separator + msgspec.json.encode(item_json(item))
            separator = b","
    yield b"]}"


# -- state changes -------------------------------------------------------------------------------
@post("/reader/api/0/edit-tag", status_code=200)
async def edit_tag(request: AnyRequest, session: SessionDep) -> Response[str]:
    readers = readers_of(request)
    user, params = await _change(request)
    ids = _item_ids(params)
    add, remove = protocol.tags_in(params.getall("a", [])), protocol.tags_in(params.getall("r", []))
    change = await state.apply_changes(
        session, user.id,
        read=ids if protocol.READ in add else [],
        unread=ids if protocol.READ in remove else [],
        starred=ids if protocol.STARRED in add else [],
        unstarred=ids if protocol.STARRED in remove else [],
    )  # fmt: skip
    await readers.events.publish(user.id, change)
    return _text("OK")


@post("/reader/api/0/mark-all-as-read", status_code=200)
async def mark_all_as_read(request: AnyRequest, session: SessionDep) -> Response[str]:
    readers = readers_of(request)
    user, params = await _change(request)
    if not params.get("s"):  # never "everything" by omission
        raise ValidationError("s (the stream to mark as read) is required")
    stream = _stream(params.get("s"))
    before = _int(params, "ts", protocol.parse_mark_time) or readers.clock()
    if stream.kind == "starred":  # only what the stream holds: the starred articles
        change = await state.mark_starred_read(session, user.id, before)
        await readers.events.publish(user.id, change)
        return _text("OK")
    feed_ids = await service.feed_ids_for(session, stream)
    if feed_ids == []:  # read, broadcast, kept-unread…: nothing of ours to mark
        return _text("OK")
    bound = await state.mark_all_read(session, user.id, feed_ids=feed_ids, before=before)
    feed_id = feed_ids[0] if feed_ids and stream.kind == "feed" else None
    label = stream.value if stream.kind == "label" else None
    category = (await service.category_for_label(session, label)).slug if label else None
    await readers.events.publish(user.id, StateChange(all_read=AllRead(category, feed_id, bound)))
    return _text("OK")


# -- subscriptions and labels (admins change them for all; anyone hides them for themself) ------
@post("/reader/api/0/subscription/edit", status_code=200)
async def subscription_edit(request: AnyRequest, session: SessionDep) -> Response[str]:
    readers = readers_of(request)
    _, params = await _change(request)
    await edit_subscription(request, session, readers, params)
    return _text("OK")


@post("/reader/api/0/subscription/quickadd", status_code=200)
async def quickadd(request: AnyRequest, session: SessionDep) -> Response[bytes]:
    readers = readers_of(request)
    _, params = await _change(request)
    url = params.get("quickadd") or ""
    feed = await edit_subscription(
        request, session, readers, MultiDict([("ac", "subscribe"), ("s", f"feed/{url}")])
    )
    title = await service.feed_title(session, feed)
    return _json({"query": url, "numResults": 1, "streamId": f"feed/{feed}", "streamName": title})


@post("/reader/api/0/rename-tag", status_code=200)
async def rename_tag(request: AnyRequest, session: SessionDep) -> Response[str]:
    _, params = await _change(request)
    await rename_label(
        request, session, params.get("s") or params.get("t") or "", params.get("dest") or ""
    )
    return _text("OK")


@post("/reader/api/0/disable-tag", status_code=200)
async def disable_tag(request: AnyRequest, session: SessionDep) -> Response[str]:
    _, params = await _change(request)
    await disable_label(request, session, params.get("s") or params.get("t") or "")
    return _text("OK")


# -- the Atom form, and everything else ----------------------------------------------------------
@get("/reader/atom/{stream_id:path}")
async def atom(
    request: AnyRequest, session: SessionDep, stream_id: FromPath[str]
) -> Response[bytes]:
    readers = readers_of(request)
    user, _ = _caller(request)
    params = await _params(request)
    stream_id = _path_stream(request, "/reader/atom/", stream_id)
    stream, items, continuation = await stream_page(
        session, user, stream_id, params,
        measure=atom_size, budget=readers.settings.greader_answer_bytes,
    )  # fmt: skip
    title = {"reading-list": "Reading list", "starred": "Starred", "read": "Read"}.get(
        stream.kind, items[0].feed_title if items and stream.kind == "feed" else stream.value or ""
    )
    body = atom_stream(
        stream_id.lstrip("/"), title, str(request.url), items, readers.clock(), continuation
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@route(["/reader/api/0/{rest:path}", "/reader/{rest:path}"], http_method=["GET", "POST"])
async def unknown(rest: FromPath[str]) -> Response[bytes]:
    """Never an empty 200 for what we do not serve: apps then show nothing (miniflux#2129)."""
    detail = f"not supported here: {rest.lstrip('/')}"
    body = msgspec.json.encode({"status_code": 404, "detail": detail})
    return Response(body, media_type=_JSON, status_code=404)


_HANDLERS: list[BaseRouteHandler] = [
    client_login, token, user_info, subscription_list, subscription_export, tag_list, unread_count,
    stream_contents_query, stream_contents, stream_item_ids, stream_items_contents, edit_tag,
    mark_all_as_read, subscription_edit, quickadd, rename_tag, disable_tag, atom, unknown,
]  # fmt: skip


def greader_handlers() -> list[Router]:
    return [
        # Listed in /schema once, under its own tag; the FreshRSS-style alias below is the
        # same API again and would only double the document.
        Router(path="/", route_handlers=_HANDLERS, exception_handlers={_BadToken: _bad_token},
               tags=["Google Reader API"]),
        Router(path="/api/greader.php", route_handlers=_HANDLERS,
               exception_handlers={_BadToken: _bad_token}, include_in_schema=False),
    ]  # fmt: skip
