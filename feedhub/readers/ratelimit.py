"""Sign-in attempt limits (pure: the clock is passed in).

An attempt is counted when it starts, before the password is hashed: concurrent guesses
each take a slot, so a burst cannot all be checked while the first ones are still hashing.
A wrong password leaves its slot taken; a right one clears its (name, network) count and
gives its network's slot back; an attempt that was never judged (the server was busy)
gives all its slots back.

Two kinds of keys, after OWASP's authentication guidance, so a lock-out hits the guesser
and not the account's owner nor the guesser's neighbours:
- `user:<network> <name>`: one name from one network, `limit` attempts a window. Someone
  guessing ann's password from their network does not lock ann out from hers.
- `net:<network>`: one network over every name, `address_limit` attempts a window. Higher,
  so one person mistyping does not lock a household out, but a guesser cannot spray names.
A network is a client address cut to a prefix (IPv6 /64 by default: one subscriber is
handed a whole /64, and counting its addresses one by one would be no limit at all).

Kept in memory, at most `max_keys` keys, swept by age as attempts come (the key touched
least recently is the first to expire), and past the cap the least recently touched key
goes first. A new key costs a password hash, which runs in a small pool, so a flood of
keys is slow to build and evicts its own keys before a live guesser's. Forgotten on
restart; the processes of one installation share what they count over the bus
(feedhub.live.sign_in_limits).
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from dataclasses import dataclass, field

__all__ = ["MAX_NAME", "AttemptLimiter", "attempt_keys", "network_of"]

# Longer names cannot exist (feedhub.readers.accounts): the key keeps no more than this.
MAX_NAME = 64


def network_of(host: str, ipv4_prefix: int = 32, ipv6_prefix: int = 64) -> str:
    """The client's network, as counted: its address cut to the prefix."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # not an address (a unix socket, "?"): counted as it is, capped
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = ipv4_prefix if address.version == 4 else ipv6_prefix
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def attempt_keys(name: str, network: str) -> list[str]:
    """The keys of one attempt. Names are case-sensitive accounts ("Ann" and "ann" are two
    users), so they are two counters; a name too long to exist is cut, all alike."""
    return [f"user:{network} {name[: MAX_NAME + 1]}", f"net:{network}"]


@dataclass(slots=True)
class AttemptLimiter:
    limit: int = 5
    window: float = 300.0
    address_limit: int = 50
    max_keys: int = 100_000
    _attempts: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def _limit_of(self, key: str) -> int:
        return self.address_limit if key.startswith("net:") else self.limit

    def retry_after(self, keys: list[str], now: float) -> int:
        """Seconds until an attempt with these keys is heard again; 0 when it is now."""
        wait = 0.0
        for key in keys:
            times = self._prune(key, now)
            if times is not None and len(times) >= self._limit_of(key):
                wait = max(wait, times[0] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def acquire(self, keys: list[str], now: float) -> int:
        """Take a slot under every key and return 0, or take none and return the wait."""
        wait = self.retry_after(keys, now)
        if not wait:
            self.record(keys, now)
        return wait

    def record(self, keys: list[str], now: float) -> None:
        """Count an attempt, unconditionally (as another process counted it)."""
        for key in keys:
            times = self._attempts.get(key)
            if times is None:
                times = self._attempts[key] = deque()
            else:
                self._attempts.move_to_end(key)
            times.append(now)
            while len(times) > self._limit_of(key):
                times.popleft()
        self._sweep(now)

    def succeeded(self, keys: list[str]) -> None:
        """The password was right: the name's count goes, the network's slot comes back."""
        for key in keys:
            if key.startswith("net:"):
                self._give_back(key)
            else:
                self._attempts.pop(key, None)

    def give_back(self, keys: list[str]) -> None:
        """The attempt was never judged: every slot it took comes back."""
        for key in keys:
            self._give_back(key)

    def _give_back(self, key: str) -> None:
        times = self._attempts.get(key)
        if times:
            times.pop()
        if times is not None and not times:
            del self._attempts[key]

    def _prune(self, key: str, now: float) -> deque[float] | None:
        times = self._attempts.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._attempts[key]
            return None
        return times

    def _sweep(self, now: float) -> None:
        """Drop expired keys from the least recently touched end, then any past the cap."""
        while self._attempts:
            key, times = next(iter(self._attempts.items()))
            if times and times[-1] > now - self.window:
                break
            del self._attempts[key]
        while len(self._attempts) > self.max_keys:
            self._attempts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._attempts)
