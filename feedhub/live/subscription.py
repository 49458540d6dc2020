"""One open stream's state, and the batches the hub hands it (see feedhub.live.hub).

Split from the hub so that each stays one job: the hub decides what to fan out and when,
a `Subscription` holds what one stream has yet to send and states the exactly-once rule.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from feedhub.core import metrics

__all__ = ["Batch", "EndReason", "Subscription"]

# Why a stream was ended: its client fell behind, stopped reading or left; the process is
# stopping; the hub lost the bus or a doorbell (the client resumes from the database); its
# session was revoked (the client must sign in again).
EndReason = Literal["overflow", "stalled", "disconnected", "shutdown", "error", "revoked"]


@dataclass(frozen=True, slots=True)
class Batch:
    """Consecutive events of one category, oldest first, with their bytes pre-joined."""

    events: tuple[tuple[int, bytes], ...]
    data: bytes
    # The feed of each event, in the same order: streams of readers who hid feeds.
    feeds: tuple[int, ...] = ()

    @property
    def first_id(self) -> int:
        return self.events[0][0]

    @property
    def last_id(self) -> int:
        return self.events[-1][0]

    def without(self, hidden: frozenset[int]) -> Batch | None:
        """The batch for a reader who hid these feeds: the shared one when it holds none of
        them, a smaller one when it holds some, None when nothing is left."""
        if hidden.isdisjoint(self.feeds):
            return self
        kept = [(event, feed) for event, feed in zip(self.events, self.feeds, strict=True)
                if feed not in hidden]  # fmt: skip
        if not kept:
            return None
        events = tuple(event for event, _ in kept)
        return Batch(events, b"".join(data for _, data in events), tuple(f for _, f in kept))

    def after(self, sent_upto: int) -> bytes:
        """The bytes of events not yet sent; the shared object when none was."""
        if self.first_id > sent_upto:
            return self.data
        return b"".join(data for event_id, data in self.events if event_id > sent_upto)


class Subscription:
    """One open stream. Bounded: a client that falls behind is ended, never thinned.

    **Exactly once** (DESIGN.md "The stream"), the whole rule in three steps:

    1. `StreamHub.subscribe` registers the subscription and records the hub's newest id as
       `start_id` in the same step, with no await in between. `StreamHub._fan_out` offers
       articles and raises `newest` in one step, with no await either. So every article is
       either offered to this subscription (its id is above `start_id`) or covered by
       `start_id` (it came before the stream, or the replay reads it from the database).
    2. The stream sends the replay from the database and sets `sent_upto` to the last id
       it sent (or `start_id` without a replay).
    3. `take()` hands out live batches minus every id up to `sent_upto`, and moves it: an
       article committed during the replay arrives both ways and is sent once.

    Its writer (`feedhub.live.stream`) takes batches from `items`, oldest first; when there
    is none it checks `ended`, then `beat` (a keep-alive is due), then awaits `wait()`.
    Around each socket write it sets `sending` to the hub's tick number (−1 when not
    writing) and `last_write` to the tick it started at; the hub's ticker reads both.
    """

    __slots__ = (
        "_waiter",
        "beat",
        "categories",
        "ended",
        "hidden",
        "items",
        "last_write",
        "maxsize",
        "notes",
        "on_end",
        "sending",
        "sent_upto",
        "start_id",
    )

    def __init__(
        self,
        categories: frozenset[str] | None,
        maxsize: int,
        tick: int = 0,
        hidden: frozenset[int] = frozenset(),
    ) -> None:
        self.categories = categories
        # Feeds this stream's reader hid (read when it opened): their articles are not sent.
        self.hidden = hidden
        self.maxsize = maxsize
        self.items: deque[Batch] = deque()
        # Pre-encoded events outside the article order (a signed-in user's `event: state`).
        self.notes: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.ended: EndReason | None = None
        # Called once when it is ended: the stream cuts a writer stuck on a stalled socket.
        self.on_end: Callable[[], None] | None = None
        self.beat = False
        self.sending = -1
        self.last_write = tick
        self.start_id = 0  # set by StreamHub.subscribe
        self.sent_upto = 0  # set by the stream once its replay is sent

    def take(self) -> bytes | None:
        """The next queued bytes not sent yet (step 3 of the rule above), or None. Notes
        (no id, outside the article order) go first: they are small and timely."""
        if self.notes:
            return self.notes.popleft()
        items = self.items
        while items:
            batch = items.popleft()
            if batch.last_id <= self.sent_upto:
                continue
            fresh = sum(1 for i, _ in batch.events if i > self.sent_upto)
            metrics.EVENTS_SENT.inc(fresh)
            data = batch.after(self.sent_upto)
            self.sent_upto = batch.last_id
            return data
        return None

    def wants(self, category: str) -> bool:
        return self.categories is None or category in self.categories

    def wait(self) -> asyncio.Future[None]:
        """A future done at the next offer, keep-alive or end (the writer awaits it)."""
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        return waiter

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def offer(self, batch: Batch) -> None:
        if self.ended:
            return
        if self.hidden:
            own = batch.without(self.hidden)
            if own is None:
                return
            batch = own
        if len(self.items) >= self.maxsize:
            self.end("overflow")
            return
        self.items.append(batch)
        self._wake()

    def note(self, data: bytes) -> None:
        """Queue an event that is not an article (no id, not replayed); bounded likewise."""
        if self.ended:
            return
        if len(self.notes) >= self.maxsize:
            self.end("overflow")
            return
        self.notes.append(data)
        self._wake()

    def heartbeat(self) -> None:
        self.beat = True
        self._wake()

    def end(self, reason: EndReason) -> None:
        """Drop what is queued and wake the writer: its client reconnects and replays."""
        if self.ended:
            return
        self.ended = reason
        if self.items and reason in ("overflow", "stalled"):
            metrics.EVENTS_DROPPED.inc(sum(len(batch.events) for batch in self.items))
        self.items.clear()
        self.notes.clear()
        self._wake()
        if self.on_end is not None:
            self.on_end()
