"""A user's read/starred changes, to every stream that user has open, in every process.

A change is published on the bus's side channel `feedhub_readers_state` (`Bus.topic`: the
memory bus, Redis pub/sub or PostgreSQL NOTIFY, like the doorbells) in small messages (ids
split into parts well under PostgreSQL's NOTIFY limit). Each web process turns what it
hears into the `event: state` bytes once, then hands them to the listeners of that user:
the signed-in streams (DESIGN.md "Readers"). Nothing is kept: at most once, like pub/sub;
a stream that reconnects refetches the counts. When publishing fails, this process's
streams still hear the change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec

from feedhub.live.bus import Bus, TopicMember
from feedhub.readers.state import StateChange

__all__ = ["CHANNEL", "StateEvents", "encode_state_event"]

log = logging.getLogger(__name__)

CHANNEL = "feedhub_readers_state"
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


class StateEvents(TopicMember[_Message]):
    def __init__(self, bus: Bus) -> None:
        super().__init__(bus, CHANNEL, _Message)
        self._listeners: dict[int, set[Callable[[bytes], None]]] = {}

    async def publish(self, user_id: int, change: StateChange) -> None:
        if change.is_empty():
            return
        for part in _parts(change):
            try:
                await self.send(_Message(user_id, part))
            except Exception:  # the change is committed; other processes miss it live
                log.exception("could not publish a state change; only this process hears it")
                self._deliver(user_id, part)

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

    def on_message(self, message: _Message) -> None:
        self._deliver(message.user_id, message.change)

    def _deliver(self, user_id: int, change: StateChange) -> None:
        callbacks = self._listeners.get(user_id)
        if not callbacks:
            return
        data = encode_state_event(change)
        for callback in list(callbacks):
            callback(data)
