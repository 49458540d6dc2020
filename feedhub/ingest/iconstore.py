"""`IconStore`: the SQL of the `feed_icon` table as the poller writes it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.db.models import FeedIcon
from feedhub.ingest.iconfetch import IconAttempt, IconFound, IconMissing

__all__ = ["IconRecord", "IconStore"]


@dataclass(frozen=True, slots=True)
class IconRecord:
    """What the schedule and a conditional refetch need of the last attempt."""

    fetched_at: datetime
    failed: bool
    source_url: str | None
    etag: str | None


class IconStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def last(self, feed_id: int) -> IconRecord | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(
                        FeedIcon.fetched_at, FeedIcon.error.is_not(None), FeedIcon.source_url,
                        FeedIcon.etag,
                    ).where(FeedIcon.feed_id == feed_id)
                )
            ).first()  # fmt: skip
        return None if row is None else IconRecord(row[0], bool(row[1]), row[2], row[3])

    async def save(self, feed_id: int, attempt: IconAttempt, now: datetime) -> None:
        """Record an attempt. A failure keeps an icon found before (a site down for a day
        does not lose its icon), and says why in `error`."""
        async with self._sessions() as session:
            icon = await session.get(FeedIcon, feed_id)
            if icon is None:
                icon = FeedIcon(feed_id=feed_id, fetched_at=now)
                session.add(icon)
            icon.fetched_at = now
            if isinstance(attempt, IconFound):
                icon.content_type = attempt.content_type
                icon.data = attempt.data
                icon.sha256 = hashlib.sha256(attempt.data).hexdigest()
                icon.source_url = attempt.url
                icon.etag = attempt.etag
                icon.error = None
            elif isinstance(attempt, IconMissing):
                icon.error = attempt.error[:2000]
            else:
                icon.error = None
            try:
                await session.commit()
            except IntegrityError:  # the feed was deleted meanwhile: nothing to keep
                await session.rollback()
