"""Read/starred state on a real SQLite file: marks, exceptions, mark-all bounds, counts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.core.errors import ValidationError
from feedhub.db.models import ArticleState, ReadMark
from feedhub.readers import accounts, state
from tests.conftest import BOTH_DATABASES
from tests.integration.readers.helpers import T0, seed

pytestmark = BOTH_DATABASES

Sessions = async_sessionmaker[AsyncSession]


async def _user(sessions: Sessions, name: str = "ann") -> int:
    async with sessions() as s:
        return (await accounts.create_user(s, name, "correct horse", "reader", T0)).id


async def _counts(sessions: Sessions, user: int) -> dict[int, int]:
    async with sessions() as s:
        return await state.unread_counts(s, user)


async def test_new_user_has_everything_unread(sessions: Sessions) -> None:
    ids = await seed(sessions, {"tech": {"a": 3, "b": 2}})
    user = await _user(sessions)
    counts = await _counts(sessions, user)
    feeds = await _feed_ids(sessions)
    assert counts == {feeds["a"]: 3, feeds["b"]: 2}
    async with sessions() as s:
        assert await state.states_of(s, user, ids["a"]) == ([], [])


async def _feed_ids(sessions: Sessions) -> dict[str, int]:
    from feedhub.db.models import Feed

    async with sessions() as s:
        return {t: i for i, t in (await s.execute(select(Feed.id, Feed.title))).all()}


async def test_read_unread_star_round_trip(sessions: Sessions) -> None:
    ids = await seed(sessions, {"tech": {"a": 4}})
    a = ids["a"]
    ann, bob = await _user(sessions), await _user(sessions, "bob")
    async with sessions() as s:
        change = await state.apply_changes(s, ann, read=[a[0], a[1]], starred=[a[1], 999999])
    assert change.read == (a[0], a[1]) and change.starred == (a[1],)
    async with sessions() as s:
        assert await state.states_of(s, ann, a) == ([a[0], a[1]], [a[1]])
        assert await state.states_of(s, bob, a) == ([], [])  # per user
        await state.apply_changes(s, ann, unread=[a[1]], unstarred=[a[1]])
        assert await state.states_of(s, ann, a) == ([a[0]], [])
        # Nothing left to say about a[1]: no row kept.
        rows = await s.scalar(
            select(func.count()).select_from(ArticleState).where(ArticleState.user_id == ann)
        )
    assert rows == 1
    feeds = await _feed_ids(sessions)
    assert await _counts(sessions, ann) == {feeds["a"]: 3}
    assert await _counts(sessions, bob) == {feeds["a"]: 4}


async def test_mark_all_by_id_leaves_later_articles_unread(sessions: Sessions) -> None:
    ids = await seed(sessions, {"tech": {"a": 5, "b": 5}, "news": {"c": 2}})
    feeds = await _feed_ids(sessions)
    ann = await _user(sessions)
    bound = ids["a"][2]  # the page has shown articles up to here
    async with sessions() as s:
        await state.apply_changes(s, ann, starred=[ids["a"][0]])
        used = await state.mark_all_read(s, ann, feed_ids=[feeds["a"], feeds["b"]], upto_id=bound)
    assert used == bound
    counts = await _counts(sessions, ann)
    a_after = [i for i in ids["a"] if i > bound]
    b_after = [i for i in ids["b"] if i > bound]
    assert counts == {feeds["a"]: len(a_after), feeds["b"]: len(b_after), feeds["c"]: 2}
    async with sessions() as s:
        read, starred = await state.states_of(s, ann, ids["a"])
        assert read == [i for i in ids["a"] if i <= bound]
        assert starred == [ids["a"][0]]  # stars survive mark-all
        # One row per feed, not per article.
        marks = await s.scalar(select(func.count()).select_from(ReadMark))
    assert marks == 2


async def test_mark_all_then_unread_one_then_read_above(sessions: Sessions) -> None:
    ids = await seed(sessions, {"tech": {"a": 6}})
    a = ids["a"]
    feeds = await _feed_ids(sessions)
    ann = await _user(sessions)
    async with sessions() as s:
        await state.apply_changes(s, ann, read=[a[5]])  # above any mark: an exception
        await state.mark_all_read(s, ann, feed_ids=None, upto_id=a[3])
        await state.apply_changes(s, ann, unread=[a[1]])  # below the mark: an exception
        assert await state.states_of(s, ann, a) == ([a[0], a[2], a[3], a[5]], [])
    assert await _counts(sessions, ann) == {feeds["a"]: 2}  # a[1] and a[4]
    async with sessions() as s:
        await state.mark_all_read(s, ann, feed_ids=None, upto_id=a[5])
        assert await state.states_of(s, ann, a) == (a, [])
        rows = await s.scalar(select(func.count()).select_from(ArticleState))
    assert rows == 0  # exceptions under the new mark are gone
    assert await _counts(sessions, ann) == {}


async def test_mark_all_by_time_and_caps(sessions: Sessions) -> None:
    ids = await seed(sessions, {"tech": {"a": 4}})
    a = ids["a"]
    ann = await _user(sessions)
    async with sessions() as s:
        # fetched_at of article k is T0 + k seconds: "before" the third one's time.
        used = await state.mark_all_read(
            s, ann, feed_ids=None, before=T0 + timedelta(seconds=3, milliseconds=500)
        )
        assert used == a[2]
        # A bound beyond the newest id is capped: a future article must stay unread.
        assert await state.mark_all_read(s, ann, feed_ids=None, upto_id=10**9) == a[3]
        assert await state.mark_all_read(s, ann, feed_ids=None, before=T0) == 0
        with pytest.raises(ValidationError):
            await state.mark_all_read(s, ann, feed_ids=None)
        with pytest.raises(ValidationError):
            await state.apply_changes(s, ann, read=[a[0]], unread=[a[0]])
        with pytest.raises(ValidationError):
            await state.apply_changes(s, ann, read=list(range(1, 1002)))


async def test_deleting_a_user_deletes_their_state(sessions: Sessions) -> None:
    ids = await seed(sessions, {"tech": {"a": 2}})
    ann = await _user(sessions)
    async with sessions() as s:
        await state.apply_changes(s, ann, read=[ids["a"][1]], starred=[ids["a"][0]])
        await state.mark_all_read(s, ann, feed_ids=None, upto_id=ids["a"][0])
        await accounts.delete_user(s, "ann")
        assert await s.scalar(select(func.count()).select_from(ArticleState)) == 0
        assert await s.scalar(select(func.count()).select_from(ReadMark)) == 0


async def test_retention_keeps_starred_articles(sessions: Sessions) -> None:
    from feedhub.catalog.retention import prune_articles

    ids = await seed(sessions, {"tech": {"a": 5}})
    ann = await _user(sessions)
    async with sessions() as s:
        await state.apply_changes(s, ann, starred=[ids["a"][0]], read=[ids["a"][1]])
    report = await prune_articles(sessions, now=T0 + timedelta(days=100), days=90, min_per_feed=1)
    assert report.deleted == 3  # 5 old ones, less the newest and the starred one
    async with sessions() as s:
        read, starred = await state.states_of(s, ann, ids["a"])
    assert starred == [ids["a"][0]] and read == []  # the read one is gone with its state


async def test_changes_made_at_once_by_two_devices_are_both_kept(sessions: Sessions) -> None:
    """An app marks an article read while the page unstars it: each change reads the
    article's state, then writes it whole, so without one user's changes taking turns the
    second write put back the star the first had taken off (or, on PostgreSQL, failed on
    the row the first had inserted meanwhile)."""
    ids = await seed(sessions, {"tech": {"a": 20}})
    ann = await _user(sessions)
    async with sessions() as s:
        await state.apply_changes(s, ann, starred=ids["a"])

    async def change(**marks: list[int]) -> None:
        async with sessions() as s:
            await state.apply_changes(s, ann, **marks)

    for article in ids["a"]:
        await asyncio.gather(change(read=[article]), change(unstarred=[article]))
    async with sessions() as s:
        assert await state.states_of(s, ann, ids["a"]) == (ids["a"], [])
