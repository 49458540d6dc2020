"""Accounts: password hashing, the sign-in limiter, users and sessions on real SQLite."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.core.errors import AuthError, ConflictError, NotFoundError, ValidationError
from feedhub.db.models import User, UserSession
from feedhub.readers import accounts
from feedhub.readers.passwords import hash_password, needs_rehash, verify_password
from feedhub.readers.ratelimit import AttemptLimiter, attempt_keys, network_of
from tests.conftest import BOTH_DATABASES
from tests.integration.readers.helpers import T0

pytestmark = BOTH_DATABASES

Sessions = async_sessionmaker[AsyncSession]


@pytest.mark.parametrize(
    ("password", "candidate", "ok"),
    [
        ("correct horse", "correct horse", True),
        ("correct horse", "correct hors", False),
        ("correct horse", "", False),
        ("pässwörd ünicode", "pässwörd ünicode", True),
    ],
)
def test_scrypt_hash_verifies_only_the_password(password: str, candidate: str, ok: bool) -> None:
    stored = hash_password(password, n=2**10)
    assert stored.startswith("scrypt$1024$8$1$")
    assert password not in stored
    assert verify_password(candidate, stored) is ok


@pytest.mark.parametrize("stored", ["", "plain", "scrypt$x$8$1$AA$AA", "bcrypt$1$2$3$4$5"])
def test_malformed_hash_never_verifies(stored: str) -> None:
    assert verify_password("anything", stored) is False


def test_stored_hashes_cost_what_owasp_recommends(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt N=2**17, r=8, p=1 (OWASP's Password Storage Cheat Sheet): 128 MiB a hash."""
    monkeypatch.undo()  # (the other tests hash at a lower cost, for speed: see conftest)
    stored = hash_password("x" * 8)
    assert stored.startswith("scrypt$131072$8$1$")
    assert verify_password("x" * 8, stored) and not needs_rehash(stored)
    assert needs_rehash(hash_password("x" * 8, n=2**15))  # the cost of earlier versions


def test_a_stored_hash_asking_for_too_much_memory_never_verifies() -> None:
    stored = hash_password("x" * 8, n=2**10).replace("scrypt$1024$", "scrypt$2097152$")
    assert verify_password("x" * 8, stored) is False


def test_old_parameters_need_rehash() -> None:
    assert needs_rehash(hash_password("x" * 8, n=2**10))
    assert not needs_rehash(hash_password("x" * 8))


@pytest.mark.parametrize(
    ("failures", "at", "expected"),
    [
        ([0, 1, 2, 3], 4, 0),  # four failures: still heard
        ([0, 1, 2, 3, 4], 5, 296),  # fifth: wait until the first leaves the 300 s window
        ([0, 1, 2, 3, 4], 300.5, 0),  # the first failure has left the window
        ([0, 100, 200, 250, 299], 310, 0),  # only four left inside the window
        ([10, 100, 200, 250, 299], 305, 6),
    ],
)
def test_limiter_window(failures: list[float], at: float, expected: int) -> None:
    limiter = AttemptLimiter(limit=5, window=300)
    for t in failures:
        assert limiter.acquire(["user:n ann", "net:n"], t) == 0
    assert limiter.retry_after(["user:n ann"], at) == expected
    assert limiter.retry_after(["user:n bob"], at) == 0


def test_limiter_acquire_counts_before_the_check() -> None:
    """The slot is taken when the attempt starts: a burst cannot all pass the look."""
    limiter = AttemptLimiter(limit=3, window=60)
    results = [limiter.acquire(["user:n ann", "net:n"], 0) for _ in range(10)]
    assert results[:3] == [0, 0, 0]
    assert all(wait > 0 for wait in results[3:])


def test_limiter_success_clears_the_name_and_gives_back_the_network_slot() -> None:
    limiter = AttemptLimiter(limit=2, window=60, address_limit=2)
    keys = ["user:n ann", "net:n"]
    limiter.acquire(keys, 0)  # a wrong password: kept
    limiter.acquire(keys, 1)  # the right one
    limiter.succeeded(keys)
    assert limiter.retry_after(["user:n ann"], 2) == 0
    assert limiter.acquire(["user:n bob", "net:n"], 2) == 0  # the right one's slot is back
    assert limiter.retry_after(["net:n"], 2) == 59


def test_limiter_gives_back_an_unjudged_attempt() -> None:
    limiter = AttemptLimiter(limit=1, window=60)
    keys = ["user:n ann", "net:n"]
    limiter.acquire(keys, 0)
    limiter.give_back(keys)
    assert limiter.acquire(keys, 1) == 0
    assert len(limiter) == 2


def test_limiter_forgets_expired_keys_as_attempts_come() -> None:
    """Keys past their window are swept by age, not only when the same key comes again."""
    limiter = AttemptLimiter(limit=2, window=60)
    for i in range(1000):
        limiter.acquire([f"user:n{i} {'x' * 65}", f"net:n{i}"], 0)
    assert len(limiter) == 2000
    limiter.acquire(["user:m ann", "net:m"], 61)
    assert len(limiter) == 2


def test_limiter_memory_is_bounded_and_keeps_the_live_guesser() -> None:
    """Past the cap the least recently touched keys go; never all of them at once, so a
    flood of new keys does not wipe the count of a name being guessed right now."""
    limiter = AttemptLimiter(limit=100, window=60, address_limit=100, max_keys=10)
    target = ["user:n ann", "net:n"]
    for i in range(99):
        limiter.acquire([f"user:n{i} x", f"net:n{i}"], 1)
        if i % 3 == 0:
            limiter.acquire(target, 1)
    assert len(limiter) <= 10
    assert limiter.acquire(target, 2) == 0
    assert limiter.acquire(target, 2) == 0 and len(limiter._attempts["user:n ann"]) == 35


@pytest.mark.parametrize(
    ("host", "network"),
    [
        ("203.0.113.9", "203.0.113.9/32"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9/32"),
        ("?", "?"),
    ],
)
def test_network_of_cuts_addresses_to_their_prefix(host: str, network: str) -> None:
    assert network_of(host) == network


def test_attempt_keys_cap_the_name_and_keep_its_case() -> None:
    keys = attempt_keys("A" * 5_000_000, "n")
    assert len(keys[0]) < 100
    assert attempt_keys("Ann", "n")[0] != attempt_keys("ann", "n")[0]


async def test_users_crud_and_rules(sessions: Sessions) -> None:
    async with sessions() as s:
        ann = await accounts.create_user(s, "ann", "correct horse", "admin", T0)
        assert ann.is_admin and len(ann.feed_key) >= 30
        with pytest.raises(ConflictError):
            await accounts.create_user(s, "ann", "another pass", "reader", T0)
        for name, pw, role in [
            ("bad name", "correct horse", "reader"),
            ("bob", "short", "reader"),
            ("bob", "correct horse", "root"),
        ]:
            with pytest.raises(ValidationError):
                await accounts.create_user(s, name, pw, role, T0)
        assert [u.name for u in await accounts.list_users(s)] == ["ann"]
        stored = await s.scalar(select(User.password_hash))
        assert stored is not None and "correct horse" not in stored
        with pytest.raises(NotFoundError):
            await accounts.update_user(s, "zed", role="reader")
        assert (await accounts.update_user(s, "ann", role="reader")).role == "reader"


async def test_authenticate_and_sessions(sessions: Sessions) -> None:
    async with sessions() as s:
        ann = await accounts.create_user(s, "ann", "correct horse", "reader", T0)
        assert (await accounts.authenticate(s, "ann", "correct horse")).id == ann.id
        for name, pw in [("ann", "wrong horse"), ("nobody", "correct horse")]:
            with pytest.raises(AuthError):
                await accounts.authenticate(s, name, pw)
        token, info = await accounts.open_session(s, ann, "web", "Firefox", T0)
        api_token, _ = await accounts.open_session(s, ann, "api", None, T0)
        # Only the hash is stored.
        hashes = set(await s.scalars(select(UserSession.token_hash)))
        assert token not in hashes and accounts.token_hash(token) in hashes
        found = await accounts.resolve_session(s, token, T0 + timedelta(hours=1))
        assert found is not None and found.id == info.id and found.user.name == "ann"
        assert await accounts.resolve_session(s, token, T0, kind="api") is None
        assert await accounts.resolve_session(s, "nope", T0) is None
        assert len(await accounts.list_sessions(s, ann.id)) == 2
        await accounts.revoke_session(s, ann.id, info.id)
        assert await accounts.resolve_session(s, token, T0) is None
        with pytest.raises(NotFoundError):
            await accounts.revoke_session(s, ann.id, info.id)
        # Idle too long: gone.
        later = T0 + accounts.SESSION_IDLE + timedelta(days=1)
        assert await accounts.resolve_session(s, api_token, later) is None


async def test_a_session_in_use_is_kept_alive_at_most_once_a_minute(sessions: Sessions) -> None:
    async def stored_last_seen(session_id: int) -> object:
        async with sessions() as s:
            return await s.scalar(
                select(UserSession.last_seen_at).where(UserSession.id == session_id)
            )

    async with sessions() as s:
        ann = await accounts.create_user(s, "ann", "correct horse", "reader", T0)
        token, info = await accounts.open_session(s, ann, "api", None, T0)
    soon = T0 + accounts.TOUCH_EVERY / 2
    async with sessions() as s:
        found = await accounts.resolve_session(s, token, soon)
    assert found is not None and found.last_seen_at == T0 == await stored_last_seen(info.id)
    later = T0 + accounts.TOUCH_EVERY * 2
    async with sessions() as s:
        found = await accounts.resolve_session(s, token, later)
    assert found is not None and found.last_seen_at == later == await stored_last_seen(info.id)
    assert (found.user, found.csrf_token, found.kind) == (ann, info.csrf_token, "api")
    # Idle past SESSION_IDLE: refused, and its row is gone.
    async with sessions() as s:
        assert await accounts.resolve_session(s, token, later + accounts.SESSION_IDLE * 2) is None
    assert await stored_last_seen(info.id) is None


async def test_a_hash_of_older_parameters_is_replaced_at_the_next_sign_in(
    sessions: Sessions,
) -> None:
    async with sessions() as s:
        ann = await accounts.create_user(s, "ann", "correct horse", "reader", T0)
        old = hash_password("correct horse", n=2**10)
        (await s.get(User, ann.id)).password_hash = old  # type: ignore[union-attr]
        fever_key = (await s.get(User, ann.id)).fever_key  # type: ignore[union-attr]
        await s.commit()
    async with sessions() as s:
        with pytest.raises(AuthError):
            await accounts.authenticate(s, "ann", "wrong horse")
    async with sessions() as s:
        assert await s.scalar(select(User.password_hash).where(User.id == ann.id)) == old
        await accounts.authenticate(s, "ann", "correct horse")
    async with sessions() as s:
        user = await s.get(User, ann.id)
        assert user is not None and user.password_hash != old
        assert not needs_rehash(user.password_hash)
        assert verify_password("correct horse", user.password_hash)
        assert user.fever_key == fever_key  # the Fever key is the same password's
        await accounts.authenticate(s, "ann", "correct horse")  # and it signs in again


async def test_new_password_ends_other_sessions(sessions: Sessions) -> None:
    async with sessions() as s:
        ann = await accounts.create_user(s, "ann", "correct horse", "reader", T0)
        keep, kept = await accounts.open_session(s, ann, "web", None, T0)
        other, _ = await accounts.open_session(s, ann, "api", None, T0)
        with pytest.raises(AuthError):
            await accounts.change_password(s, ann.id, "wrong", "battery staple", keep_session=0)
        await accounts.change_password(
            s, ann.id, "correct horse", "battery staple", keep_session=kept.id
        )
        assert await accounts.resolve_session(s, keep, T0) is not None
        assert await accounts.resolve_session(s, other, T0) is None
        await accounts.authenticate(s, "ann", "battery staple")
        old_key = ann.feed_key
        new_key = await accounts.rotate_feed_key(s, ann.id)
        assert new_key != old_key
        assert await accounts.user_by_feed_key(s, old_key) is None
        found = await accounts.user_by_feed_key(s, new_key)
        assert found is not None and found.name == "ann"


async def test_old_and_surplus_sessions_are_forgotten(sessions: Sessions) -> None:
    async with sessions() as s:
        ann = await accounts.create_user(s, "ann", "correct horse", "reader", T0)
        stale, _ = await accounts.open_session(s, ann, "web", None, T0)
        later = T0 + accounts.SESSION_IDLE + timedelta(days=1)
        tokens = [
            (await accounts.open_session(s, ann, "api", None, later + timedelta(hours=i)))[0]
            for i in range(accounts.MAX_SESSIONS + 5)
        ]
        rows = await accounts.list_sessions(s, ann.id)
        assert len(rows) == accounts.MAX_SESSIONS  # the stale web one went too
        assert {r.kind for r in rows} == {"api"}
        now = later + timedelta(hours=accounts.MAX_SESSIONS + 5)
        assert await accounts.resolve_session(s, tokens[0], now) is None  # the oldest
        assert await accounts.resolve_session(s, tokens[-1], now) is not None
        assert await accounts.resolve_session(s, stale, now) is None


async def test_sessions_in_use_are_kept_past_the_cap_up_to_a_hard_one(sessions: Sessions) -> None:
    async with sessions() as s:
        ann = await accounts.create_user(s, "ann", "correct horse", "reader", T0)
        first, _ = await accounts.open_session(s, ann, "api", None, T0)
        for i in range(accounts.MAX_SESSIONS + 5):  # a burst within the hour
            await accounts.open_session(s, ann, "api", None, T0 + timedelta(seconds=i + 1))
        assert await accounts.resolve_session(s, first, T0 + timedelta(minutes=2)) is not None
        for i in range(accounts.HARD_CAP):
            await accounts.open_session(s, ann, "api", None, T0 + timedelta(minutes=3, seconds=i))
        assert len(await accounts.list_sessions(s, ann.id)) == accounts.HARD_CAP


async def test_ids_of_deleted_users_and_sessions_are_never_handed_out_again(
    sessions: Sessions,
) -> None:
    """A deleted user's still-open stream or an app's cached session id must never name a
    newer user or session (SQLite without AUTOINCREMENT gave the newest freed id back)."""
    async with sessions() as s:
        await accounts.create_user(s, "ann", "correct horse", "reader", T0)
        bob = await accounts.create_user(s, "bob", "correct horse", "reader", T0)
        _, first = await accounts.open_session(s, bob, "web", None, T0)
        await accounts.revoke_session(s, bob.id, first.id)
        _, second = await accounts.open_session(s, bob, "web", None, T0)
        assert second.id > first.id
        await accounts.delete_user(s, "bob")
        carl = await accounts.create_user(s, "carl", "correct horse", "reader", T0)
        assert carl.id > bob.id
