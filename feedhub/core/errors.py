"""One exception family. Messages are written for the admin page: they say what went wrong
in words, with the feed's url or id where there is one."""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "ConflictError",
    "EmptyFeedError",
    "FeedhubError",
    "FetchError",
    "ForbiddenError",
    "NotFoundError",
    "ParseError",
    "RateLimitedError",
    "ValidationError",
]


class FeedhubError(Exception):
    """Base of every error feedhub raises on purpose."""


class ConfigError(FeedhubError):
    """A setting is missing or malformed."""


class FetchError(FeedhubError):
    """The feed could not be fetched: network, HTTP status, size or time limits, guard."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ParseError(FeedhubError):
    """The body is not a feed we can read."""


class EmptyFeedError(ParseError):
    """A well-formed feed with no entries: an error for polling, fine for subscribing."""


class ValidationError(FeedhubError):
    """Input rejected before anything changed (API bodies, CLI arguments)."""


class NotFoundError(FeedhubError):
    """A named thing (feed, category) does not exist."""


class ConflictError(FeedhubError):
    """The change would break a uniqueness or dependency rule."""


class AuthError(FeedhubError):
    """Not signed in, or a wrong name, password, session or token (HTTP 401)."""


class ForbiddenError(FeedhubError):
    """Signed in but not allowed: a reader on an admin route, a missing CSRF token (403)."""


class RateLimitedError(FeedhubError):
    """Too many failed sign-ins; `retry_after` seconds until the next try is heard (429)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
