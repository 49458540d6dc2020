"""`list_refs` (Google Reader `stream/items/ids`) lists exactly the articles, in exactly
the order, that `list_items` lists for the same scope, cursor and direction: it only
reads fewer columns."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.db.models import Category, Feed
from feedhub.readers import state, statements
from feedhub.readers.queries import Scope, list_items, list_refs
from tests.conftest import BOTH_DATABASES
from tests.integration.readers.conftest import add_user
from tests.integration.readers.helpers import seed

pytestmark = BOTH_DATABASES

Sessions = async_sessionmaker[AsyncSession]


async def test_refs_are_the_items_ids_feeds_and_fetch_times(sessions: Sessions) -> None:
    ids = await seed(sessions, {"tech": {"a": 6, "b": 5}, "news": {"c": 4}})
    a, b, c = ids["a"], ids["b"], ids["c"]
    ann = await add_user(sessions, "ann")
    async with sessions() as s:
        # A read mark on feed a, exceptions on both sides of it, stars across feeds.
        feed = {t: i for i, t in (await s.execute(select(Feed.id, Feed.title))).all()}
        await state.mark_all_read(s, ann, feed_ids=[feed["a"]], upto_id=a[3])
        await state.apply_changes(s, ann, read=[b[1], c[0]], unread=[a[1]], starred=[a[0], c[2]])
        tech = await s.scalar(select(Category.id).where(Category.slug == "tech"))
    assert tech is not None
    scopes = [
        Scope(), Scope(read=False), Scope(read=True), Scope(starred=True),
        Scope(feed_ids=(feed["a"],)), Scope(feed_ids=(feed["a"], feed["c"]), read=False),
        Scope(category_id=tech),
        Scope(category_id=tech, read=True), Scope(ids=(a[0], b[2], c[3], 999_999)),
        Scope(after_id=a[1], upto_id=c[2]),
        Scope(category_id=999),
    ]  # fmt: skip
    for scope in scopes:
        for cursor in (None, b[2]):
            for oldest_first in (False, True):
                for limit in (3, 100):
                    async with sessions() as s:
                        items = await list_items(
                            s, ann, scope, cursor=cursor, oldest_first=oldest_first, limit=limit
                        )
                        refs = await list_refs(
                            s, ann, scope, cursor=cursor, oldest_first=oldest_first, limit=limit
                        )
                    expected = [(i.id, i.feed_id, i.fetched_at) for i in items]
                    got = [(r.id, r.feed_id, r.fetched_at) for r in refs]
                    assert got == expected, (scope, cursor, oldest_first, limit)


@pytest.mark.parametrize("user_state", [False, True])
async def test_refs_of_a_user_without_state(sessions: Sessions, user_state: bool) -> None:
    ids = await seed(sessions, {"tech": {"a": 3}})
    ann = await add_user(sessions, "ann")
    if user_state:
        async with sessions() as s:
            await state.apply_changes(s, ann, read=[ids["a"][0]])
    async with sessions() as s:
        unread = await list_refs(s, ann, Scope(read=False), limit=10)
    expected = ids["a"][1:] if user_state else ids["a"]
    assert [r.id for r in unread] == sorted(expected, reverse=True)


async def test_one_statement_per_shape_serves_every_user_and_value(sessions: Sessions) -> None:
    """Statements are built once per shape (feedhub.readers.statements): the user, the
    bounds and the limit are its parameters, never kept from an earlier call."""
    ids = await seed(sessions, {"tech": {"a": 4}})
    a = ids["a"]
    ann, bob = await add_user(sessions, "ann"), await add_user(sessions, "bob")
    async with sessions() as s:
        await state.apply_changes(s, ann, read=[a[0], a[1]])
        await state.apply_changes(s, bob, read=[a[3]])
    statements.refs_statement.cache_clear()
    statements.rows_statement.cache_clear()
    for user, unread in ((ann, [a[3], a[2]]), (bob, [a[2], a[1], a[0]]), (ann, [a[3], a[2]])):
        for limit in (1, 10):
            async with sessions() as s:
                refs = await list_refs(s, user, Scope(read=False), limit=limit)
                items = await list_items(s, user, Scope(read=False), limit=limit)
            assert [r.id for r in refs] == [i.id for i in items] == unread[:limit]
            assert all(not i.read for i in items)
    async with sessions() as s:  # a cursor: the same shape with one more parameter
        assert [r.id for r in await list_refs(s, bob, Scope(read=False), cursor=a[2])] == [
            a[1], a[0]
        ]  # fmt: skip
    assert statements.refs_statement.cache_info().currsize == 2  # with and without cursor
    assert statements.rows_statement.cache_info().currsize == 1
