"""A user's read/starred changes, to every stream that user has open, in every process.

On a Litestar Channels bus (`ChannelsBus`, memory:// today) a change is published on the
channel `readers.state` (small messages: ids are split into parts well under PostgreSQL's
NOTIFY limit) and each web process turns it into the `event: state` bytes once, then
hands them to the listeners of that user: the signed-in streams (DESIGN.md "Readers").
On a bus that only carries doorbells, changes reach the streams of this process only.
Nothing is kept: a stream that reconnects refetches the counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import msgspec
from litestar.channels import ChannelsPlugin, Subscriber

from feedhub.live.bus import Bus, ChannelsBus
from feedhub.readers.state import StateChange

__all__ = ["CHANNEL", "StateEvents", "encode_state_event"]

log = logging.getLogger(__name__)

CHANNEL = "readers.state"
_IDS_PER_MESSAGE = 300


class _Message(msgspec.Struct, frozen=True):
    user_id: int
    change: StateChange


def encode_state_event(change: StateChange) -> bytes:
    """No `id:` line: a state event must not move the stream's resume point."""
    return b"event: state\ndata: %s\n\n" % msgspec.json.encode(change)


def _chunks(ids: tuple[int, ...]) -> list[tuple[int, ...]]:
    return [ids[i : i + _IDS_PER_MESSAGE] for i in range(0, len(ids), _IDS_PER_MESSAGE)]


def _parts(change: StateChange) -> list[StateChange]:
    total = len(change.read) + len(change.unread) + len(change.starred) + len(change.unstarred)
    if total <= _IDS_PER_MESSAGE:
        return [change]
    parts = [StateChange(all_read=change.all_read)] if change.all_read else []
    parts += [StateChange(read=c) for c in _chunks(change.read)]
    parts += [StateChange(unread=c) for c in _chunks(change.unread)]
    parts += [StateChange(starred=c) for c in _chunks(change.starred)]
    parts += [StateChange(unstarred=c) for c in _chunks(change.unstarred)]
    return parts


class StateEvents:
    def __init__(self, bus: Bus) -> None:
        self._channels: ChannelsPlugin | None = bus.plugin if isinstance(bus, ChannelsBus) else None
        self._listeners: dict[int, set[Callable[[bytes], None]]] = {}
        self._subscriber: Subscriber | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._channels is None:
            return
        self._subscriber = await self._channels.subscribe(CHANNEL)
        self._task = asyncio.create_task(self._listen(self._subscriber), name="state-events")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._subscriber is not None and self._channels is not None:
            with contextlib.suppress(Exception):
                await self._channels.unsubscribe(self._subscriber)

    async def publish(self, user_id: int, change: StateChange) -> None:
        if change.is_empty():
            return
        if self._channels is None:  # this process's streams only
            self._deliver(user_id, change)
            return
        for part in _parts(change):
            try:
                await self._channels.wait_published(
                    msgspec.json.encode(_Message(user_id, part)), [CHANNEL]
                )
            except Exception:  # the change is committed; only other devices miss it live
                log.exception("could not publish a state change")

    def listen(self, user_id: int, callback: Callable[[bytes], None]) -> Callable[[], None]:
        """Call `callback(event bytes)` for each change of this user; returns the undo."""
        self._listeners.setdefault(user_id, set()).add(callback)

        def stop() -> None:
            callbacks = self._listeners.get(user_id)
            if callbacks is not None:
                callbacks.discard(callback)
                if not callbacks:
                    del self._listeners[user_id]

        return stop

    async def _listen(self, subscriber: Subscriber) -> None:
        async for payload in subscriber.iter_events():
            try:
                message = msgspec.json.decode(payload, type=_Message)
            except msgspec.DecodeError:
                log.warning("ignored a malformed state message")
                continue
            self._deliver(message.user_id, message.change)

    def _deliver(self, user_id: int, change: StateChange) -> None:
        callbacks = self._listeners.get(user_id)
        if not callbacks:
            return
        data = encode_state_event(change)
        for callback in list(callbacks):
            callback(data)
