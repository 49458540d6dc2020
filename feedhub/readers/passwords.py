"""Password hashing with scrypt (memory-hard, in the standard library: no new dependency).

Parameters travel inside the stored hash ("scrypt$n$r$p$salt$hash"), so they can be raised
later and old hashes still verify; `needs_rehash` says when a hash is older than the
current parameters, and is replaced at the next sign-in. n=2**17, r=8, p=1 is OWASP's
recommendation (Password Storage Cheat Sheet): 128 MiB and about half a second of a core per
check, slow for a guesser, fine for a sign-in (sign-ins are rate limited, and hashes run in
the bounded pool of feedhub.readers.hashpool, which bounds the memory they take at once).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["app_key", "hash_password", "needs_rehash", "verify_password"]

N, R, P = 2**17, 8, 1
_DKLEN = 32
# A stored hash asking for more than this is refused rather than allowed to take the memory
# (2**20 with r=8 is 1 GiB per check).
_MAX_COST = 128 * 8 * 2**20


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # scrypt's working memory is 128 * r * n bytes (plus 128 * r * p, and OpenSSL's own
    # slack): maxmem is that with a MiB to spare, so each cost takes what it needs.
    memory = 128 * r * (n + p)
    if memory > _MAX_COST:
        raise ValueError("scrypt parameters beyond the memory allowed for one hash")
    maxmem = memory + 1024 * 1024
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=_DKLEN)


def hash_password(password: str, *, n: int | None = None, r: int = R, p: int = P) -> str:
    n = n or N  # (read at each call: the tests of other things lower it, for speed)
    salt = secrets.token_bytes(16)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_derive(password, salt, n, r, p))}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison; a malformed stored hash never verifies."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _derive(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, _unb64(expected))


def needs_rehash(stored: str) -> bool:
    """True for a hash made with other parameters than today's (older, cheaper ones)."""
    return not stored.startswith(f"scrypt${N}${R}${P}$")


def app_key(password: str, stored: str) -> bytes:
    """A key only the password gives (scrypt again, with another salt): app session tokens
    are derived from it, so an app signing in again gets its token back, while a copy of
    the database (the stored hash) derives nothing and is no faster to guess from."""
    _, n, r, p, salt, _ = stored.split("$")
    return _derive(password, b"app-session\0" + _unb64(salt), int(n), int(r), int(p))
