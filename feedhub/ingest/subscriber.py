"""The WebSub subscriber: subscriptions at hubs, verification of intent, accepted pushes.

The rules are pure (`feedhub.ingest.websub`); this module keeps the subscription rows and
talks to hubs. The poller hands it what each successful fetch advertises (`observe`), the
callback route hands it the hub's requests (`verify`, `accept`), and the scheduler runs
`maintain`: renewals before a lease ends, retries with backoff after a denial or an expired
lease, unsubscription of feeds deleted or disabled. Without FEEDHUB_PUBLIC_URL the hub
could not reach us: nothing is subscribed, and `status` says why.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.core import metrics
from feedhub.core.config import Settings
from feedhub.core.urls import redact_url
from feedhub.db.models import Feed, WebSubSubscription
from feedhub.ingest.websub import HubLinks, check_signature, renew_at, retry_delay

__all__ = ["CALLBACK_PREFIX", "Accepted", "Subscriber"]

log = logging.getLogger(__name__)

# Where the hub reaches us: FEEDHUB_PUBLIC_URL + CALLBACK_PREFIX + the subscription's token.
CALLBACK_PREFIX = "/websub/"
# How long a request may wait for the hub's verification before it is asked again.
_VERIFY_WAIT = timedelta(minutes=15)
# Unsubscribe requests a hub keeps failing are given up after this many (the row goes).
_UNSUBSCRIBE_TRIES = 5
# At most one line per this many seconds about rejected pushes (anyone may send them).
_REJECT_LOG_EVERY = 60.0
_ACTIVE = ("pending", "verified", "denied", "expired")


@dataclass(frozen=True, slots=True)
class Accepted:
    """A push whose signature holds: the feed it is for."""

    feed_id: int


class Subscriber:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self._sessions = sessions
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self._seen: dict[int, HubLinks] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._said_off = False
        self._rejects_logged_at = 0.0
        self._rejects_unlogged = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def attach(self, client: httpx.AsyncClient) -> None:
        """The poller's client: the same SSRF guard and timeouts for hubs as for feeds."""
        self._client = client

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def enabled(self) -> bool:
        return bool(self.settings.public_url)

    @property
    def status(self) -> str:
        """Push in a few words, for the admin API and page."""
        if self.enabled:
            return f"on: hubs call back at {self.callback_url('…')}"
        return "off: FEEDHUB_PUBLIC_URL is unset, so no hub could reach this feedhub"

    def _retry(self, attempts: int) -> timedelta:
        return retry_delay(attempts, base=self.settings.websub_retry_seconds)

    def callback_url(self, token: str) -> str:
        return f"{self.settings.base_url}{CALLBACK_PREFIX}{token}"

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait for the background requests started so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- what polls advertise ----------------------------------------------------------------
    def observe(self, feed_id: int, links: HubLinks) -> None:
        """A successful fetch of the feed advertised `links`: (re)subscribe if they changed.
        Hubs come and go, so every poll's links count; unchanged ones cost nothing."""
        if self._seen.get(feed_id) == links:
            return
        if links.hub is not None and not self.enabled:
            if not self._said_off:
                self._said_off = True
                log.warning(
                    "feed_id=%s advertises a WebSub hub, but push is off: set "
                    "FEEDHUB_PUBLIC_URL to an address the hub can reach",
                    feed_id,
                )
            return
        self._seen[feed_id] = links
        self._spawn(self._follow(feed_id, links))

    async def _follow(self, feed_id: int, links: HubLinks) -> None:
        try:
            async with self._sessions.begin() as session:
                current = (
                    await session.scalars(
                        select(WebSubSubscription).where(
                            WebSubSubscription.feed_id == feed_id,
                            WebSubSubscription.state.in_(_ACTIVE),
                        )
                    )
                ).all()
                stale = [s.id for s in current if (s.hub, s.topic) != (links.hub, links.topic)]
                keep = [s for s in current if s.id not in stale]
                new_id = None
                if links.hub is not None and links.topic is not None and not keep:
                    new_id = await self._insert(session, feed_id, links.hub, links.topic)
            for sub_id in stale:
                await self._request(sub_id, "unsubscribe")
            if new_id is not None:
                await self._request(new_id, "subscribe")
        except Exception:
            self._seen.pop(feed_id, None)  # try again at the next poll
            log.exception("websub: could not follow the hub of feed_id=%s", feed_id)

    async def _insert(self, session: AsyncSession, feed_id: int, hub: str, topic: str) -> int:
        row = WebSubSubscription(
            feed_id=feed_id, hub=hub, topic=topic, token=secrets.token_urlsafe(32),
            secret=secrets.token_hex(32), state="pending", attempts=0, healthy=False,
            pushes_received=0, pushes_rejected=0, created_at=self._clock(),
        )  # fmt: skip
        session.add(row)
        await session.flush()
        return row.id

    # -- requests to the hub -----------------------------------------------------------------
    async def _request(self, sub_id: int, mode: str) -> None:
        """Ask the hub to (un)subscribe (§5.1). The pending mode is stored first: a hub may
        verify before it even answers this request."""
        now = self._clock()
        async with self._sessions.begin() as session:
            row = await session.get(WebSubSubscription, sub_id)
            if row is None:
                return
            row.pending_mode = mode
            if mode == "unsubscribe":
                row.state = "unsubscribing"
            elif row.state != "verified":
                row.state = "pending"
            wait = now + _VERIFY_WAIT
            # A renewal not verified by the end of the lease finds the lease expired.
            if row.state == "verified" and row.lease_until is not None:
                wait = min(wait, row.lease_until)
            row.next_action_at = wait
            form = {
                "hub.mode": mode, "hub.topic": row.topic,
                "hub.callback": self.callback_url(row.token),
            }  # fmt: skip
            if mode == "subscribe":
                form["hub.lease_seconds"] = str(self.settings.websub_lease_seconds)
                form["hub.secret"] = row.secret
            hub = row.hub
        error = await self._post(hub, form)
        if error is None:
            log.info("websub: asked %s to %s sub_id=%s", redact_url(hub), mode, sub_id)
            return
        log.warning("websub: %s at %s failed sub_id=%s: %s", mode, redact_url(hub), sub_id, error)
        async with self._sessions.begin() as session:
            row = await session.get(WebSubSubscription, sub_id)
            if row is None or row.pending_mode != mode:
                return  # verified (or gone) meanwhile
            row.attempts += 1
            row.last_error = error[:2000]
            row.pending_mode = None
            if mode == "subscribe" and row.state == "pending":
                row.state = "denied"
            row.next_action_at = now + self._retry(row.attempts)

    async def _post(self, hub: str, form: dict[str, str]) -> str | None:
        """None when the hub accepted the request (2xx), else what went wrong."""
        assert self._client is not None, "Subscriber.attach() was not called"
        try:
            response = await self._client.post(hub, data=form)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"hub answered {response.status_code}: {response.text[:200]}"

    # -- the hub's requests to us ------------------------------------------------------------
    async def verify(
        self, token: str, mode: str, topic: str, challenge: str, lease_seconds: int | None
    ) -> str | None:
        """The challenge to echo (§5.3), or None (404): only for a (mode, topic) feedhub
        asked for and still awaits. `denied` (§5.2) is acknowledged with an empty body."""
        answer = await self._verify(token, mode, topic, challenge, lease_seconds)
        metrics.WEBSUB_VERIFICATIONS.labels(mode if answer is not None else "refused").inc()
        return answer

    async def _verify(
        self, token: str, mode: str, topic: str, challenge: str, lease_seconds: int | None
    ) -> str | None:
        now = self._clock()
        async with self._sessions.begin() as session:
            row = await self._by_token(session, token)
            if row is None or topic != row.topic:
                return None
            if mode == "denied":
                if row.state not in ("pending", "verified"):
                    return None
                row.state, row.pending_mode, row.healthy = "denied", None, False
                row.attempts += 1
                row.last_error = "the hub denied the subscription"
                row.next_action_at = now + self._retry(row.attempts)
                log.warning("websub: hub denied sub_id=%s feed_id=%s", row.id, row.feed_id)
                return ""
            if not challenge or mode != row.pending_mode:
                return None
            if mode == "unsubscribe":
                await session.delete(row)
                log.info("websub: unsubscribed sub_id=%s feed_id=%s", row.id, row.feed_id)
                return challenge
            lease = lease_seconds or self.settings.websub_lease_seconds
            row.state, row.pending_mode, row.attempts, row.last_error = "verified", None, 0, None
            row.lease_seconds = lease
            row.lease_until = now + timedelta(seconds=lease)
            row.next_action_at = renew_at(now, lease)
            log.info("websub: verified sub_id=%s feed_id=%s lease=%ss", row.id, row.feed_id, lease)
            return challenge

    async def accept(self, token: str, body: bytes, signature: str | None) -> Accepted | None:
        """A push: checked over the exact body before anything reads it (§8). None when it
        is to be dropped (the route still answers 2xx, as the spec asks)."""
        now = self._clock()
        async with self._sessions.begin() as session:
            row = await self._by_token(session, token)
            if row is None or row.state == "unsubscribing":
                return None
            if not check_signature(signature, body, row.secret):
                row.pushes_rejected += 1
                metrics.WEBSUB_PUSHES.labels("rejected").inc()
                self._log_reject(row.id, "missing" if not signature else "wrong")
                return None
            metrics.WEBSUB_PUSHES.labels("accepted").inc()
            row.pushes_received += 1
            row.last_push_at = now
            row.healthy = row.state == "verified"
            return Accepted(row.feed_id)

    async def reject(self, token: str, why: str) -> None:
        """Count a push refused before its signature could be checked (too large)."""
        async with self._sessions.begin() as session:
            row = await self._by_token(session, token)
            if row is not None:
                row.pushes_rejected += 1
                metrics.WEBSUB_PUSHES.labels("rejected").inc()
                self._log_reject(row.id, why)

    def _log_reject(self, sub_id: int, why: str) -> None:
        moment = time.monotonic()
        if moment - self._rejects_logged_at < _REJECT_LOG_EVERY:
            self._rejects_unlogged += 1
            return
        log.warning(
            "websub: dropped a push with a %s signature sub_id=%s (%d more since the last line)",
            why, sub_id, self._rejects_unlogged,
        )  # fmt: skip
        self._rejects_logged_at, self._rejects_unlogged = moment, 0

    @staticmethod
    async def _by_token(session: AsyncSession, token: str) -> WebSubSubscription | None:
        row: WebSubSubscription | None = await session.scalar(
            select(WebSubSubscription).where(WebSubSubscription.token == token)
        )
        return row

    async def mark_unhealthy(self, feed_id: int, why: str) -> None:
        """A poll found what pushes never brought: back to the normal schedule until the
        next push proves the hub delivers again."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(WebSubSubscription)
                .where(WebSubSubscription.feed_id == feed_id)
                .values(healthy=False, last_error=why)
            )
        log.warning("websub: feed_id=%s push unhealthy: %s", feed_id, why)

    # -- the scheduled job -------------------------------------------------------------------
    async def maintain(self) -> int:
        """Renew, retry, expire and unsubscribe what is due; the number of rows acted on."""
        if not self.enabled:
            return 0
        now = self._clock()
        actions: list[tuple[int, str]] = []
        async with self._sessions.begin() as session:
            orphans = await session.scalars(
                select(WebSubSubscription.id)
                .outerjoin(Feed, Feed.id == WebSubSubscription.feed_id)
                .where(
                    WebSubSubscription.state != "unsubscribing",
                    Feed.id.is_(None) | Feed.enabled.is_(False),
                )
            )
            actions += [(sub_id, "unsubscribe") for sub_id in orphans]
            skip = {sub_id for sub_id, _ in actions}
            # Polls after a feed is enabled again must subscribe afresh.
            for feed_id in await session.scalars(
                select(WebSubSubscription.feed_id).where(WebSubSubscription.id.in_(skip))
            ):
                self._seen.pop(feed_id, None)
            due = await session.scalars(
                select(WebSubSubscription).where(WebSubSubscription.next_action_at <= now)
            )
            for row in due:
                if row.id in skip:
                    continue
                if row.state == "unsubscribing":
                    if row.attempts >= _UNSUBSCRIBE_TRIES:
                        await session.delete(row)  # the hub will give up on us too
                    else:
                        row.attempts += 1
                        actions.append((row.id, "unsubscribe"))
                elif row.state == "verified" and row.lease_until and row.lease_until <= now:
                    row.state, row.pending_mode, row.healthy = "expired", None, False
                    row.attempts += 1
                    row.next_action_at = now + self._retry(row.attempts)
                elif row.state == "verified":
                    actions.append((row.id, "subscribe"))  # renewal: same callback, same secret
                else:  # pending too long, denied or expired: a new callback and secret
                    if row.state == "pending":
                        row.attempts += 1
                        row.last_error = "the hub never verified the subscription"
                    row.token, row.secret = secrets.token_urlsafe(32), secrets.token_hex(32)
                    actions.append((row.id, "subscribe"))
        for sub_id, mode in actions:
            await self._request(sub_id, mode)
        await self._count_states()
        return len(actions)

    async def _count_states(self) -> None:
        async with self._sessions() as session:
            rows = await session.execute(
                select(WebSubSubscription.state, func.count()).group_by(WebSubSubscription.state)
            )
            counts = dict(rows.tuples().all())
        for state in (*_ACTIVE, "unsubscribing"):
            metrics.WEBSUB_SUBSCRIPTIONS.labels(state).set(counts.get(state, 0))

    def forget_soon(self, feed_id: int) -> None:
        """A feed was deleted or disabled: unsubscribe now rather than at the next run."""
        self._seen.pop(feed_id, None)
        if self.enabled:
            self._spawn(self._forget(feed_id))

    async def _forget(self, feed_id: int) -> None:
        async with self._sessions() as session:
            ids = list(
                await session.scalars(
                    select(WebSubSubscription.id).where(
                        WebSubSubscription.feed_id == feed_id,
                        WebSubSubscription.state != "unsubscribing",
                    )
                )
            )
        for sub_id in ids:
            await self._request(sub_id, "unsubscribe")
