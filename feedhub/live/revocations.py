"""Ending the open streams of sessions that stop being valid, in every process.

An ordinary request proves its session at each call; a stream proves it once, when it
opens, and then runs for hours. So whatever ends sessions (sign-out, revoking one, a
password change by the user or an admin, deleting the user) also announces it on the bus's
side channel `feedhub_revoked_sessions`, and each process ends the streams it serves for
those sessions: their clients reconnect and are asked to sign in again. At most once, like
pub/sub: a lost announcement leaves a stream open until its client reconnects, which is
why the announcement is also handled in the announcing process without the bus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec

from feedhub.live.bus import Bus, TopicMember

__all__ = ["CHANNEL", "Revocations"]

log = logging.getLogger(__name__)

CHANNEL = "feedhub_revoked_sessions"


class _Revoked(msgspec.Struct, frozen=True):
    user_id: int
    session_id: int | None = None  # None: every session of the user
    keep: int | None = None  # the one session spared (a password changed by its user)


class Revocations(TopicMember[_Revoked]):
    def __init__(self, bus: Bus) -> None:
        super().__init__(bus, CHANNEL, _Revoked)
        # user id -> (session id, end the stream) of each stream open here
        self._streams: dict[int, set[tuple[int, Callable[[], None]]]] = {}

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
