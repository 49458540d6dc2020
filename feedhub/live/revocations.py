"""Ending the open streams of sessions that stop being valid, in every process.

An ordinary request proves its session at each call; a stream proves it once, when it
opens, and then runs for hours. So whatever ends sessions (sign-out, revoking one, a
password change by the user or an admin, deleting the user) also announces it on the bus's
side channel `feedhub_revoked_sessions`, and each process ends the streams it serves for
those sessions: their clients reconnect and are asked to sign in again. At most once, like
pub/sub: a lost announcement would leave a stream open, which is why the announcement is
also handled in the announcing process without the bus, and why each process also checks
its streams' sessions against the database every `check_every` seconds: that catches what
no announcement covers (a session idle past its life, pruned, or ended by a `feedhub users`
command run in another process, which has no bus to announce on). One query per process
per interval for all its streams, not a timer per stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection

import msgspec

from feedhub.live.bus import Bus, TopicMember

__all__ = ["CHANNEL", "Revocations"]

log = logging.getLogger(__name__)

CHANNEL = "feedhub_revoked_sessions"


class _Revoked(msgspec.Struct, frozen=True):
    user_id: int
    session_id: int | None = None  # None: every session of the user
    keep: int | None = None  # the one session spared (a password changed by its user)


# Of the session ids asked about, those still valid (the database's answer).
LiveSessions = Callable[[Collection[int]], Awaitable[Collection[int]]]


class Revocations(TopicMember[_Revoked]):
    def __init__(
        self, bus: Bus, live_sessions: LiveSessions | None = None, check_every: float = 30.0
    ) -> None:
        super().__init__(bus, CHANNEL, _Revoked)
        # user id -> (session id, end the stream) of each stream open here
        self._streams: dict[int, set[tuple[int, Callable[[], None]]]] = {}
        self._live_sessions = live_sessions
        self._check_every = check_every
        self._checker: asyncio.Task[None] | None = None
        self._failing_since: float | None = None

    async def start(self) -> None:
        await super().start()
        if self._live_sessions is not None:
            self._checker = asyncio.get_running_loop().create_task(self._check_forever())

    async def stop(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
            self._checker = None
        await super().stop()

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self._check_every)
            try:
                await self.check()
            except Exception:
                # The database is away: streams stay open (their sessions may be fine), and
                # the outage is logged once, not at every interval.
                if self._failing_since is None:
                    self._failing_since = time.monotonic()
                    log.warning("could not check open streams' sessions", exc_info=True)
            else:
                self._failing_since = None

    async def check(self) -> None:
        """End the streams here whose sessions are no longer valid in the database."""
        assert self._live_sessions is not None
        watched = {sid for entries in self._streams.values() for sid, _ in entries}
        if not watched:
            return
        live = set(await self._live_sessions(watched))
        for entries in list(self._streams.values()):
            for session_id, end in list(entries):
                if session_id not in live:
                    end()

    def watch(self, user_id: int, session_id: int, end: Callable[[], None]) -> Callable[[], None]:
        """Call `end()` when this session is revoked; returns the undo."""
        entry = (session_id, end)
        self._streams.setdefault(user_id, set()).add(entry)

        def stop() -> None:
            entries = self._streams.get(user_id)
            if entries is not None:
                entries.discard(entry)
                if not entries:
                    del self._streams[user_id]

        return stop

    async def revoke(
        self, user_id: int, session_id: int | None = None, *, keep: int | None = None
    ) -> None:
        """End the streams of one session of the user, or of all but `keep`."""
        message = _Revoked(user_id, session_id, keep)
        self.on_message(message)  # here at once, whatever becomes of the bus
        try:
            await self.send(message)
        except Exception:  # the sessions are gone all the same; other processes' streams
            log.exception("could not announce revoked sessions to the other processes")

    def on_message(self, message: _Revoked) -> None:
        for session_id, end in list(self._streams.get(message.user_id, ())):
            if message.session_id not in (None, session_id) or session_id == message.keep:
                continue
            end()
