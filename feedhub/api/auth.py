"""The admin bearer guard. The token is compared in constant time and never logged."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

__all__ = ["admin_guard"]


def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    # A token kept in the data directory is re-read when rotated (state.TokenFile).
    source = connection.app.state.get("admin_token_file")
    expected: str | None = (
        source.current() if source is not None else connection.app.state.settings.admin_token
    )
    header = connection.headers.get("authorization", "")
    scheme, _sep, token = header.partition(" ")
    valid = (
        expected is not None
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), expected.encode())
    )
    if not valid:
        raise NotAuthorizedException(
            detail="admin token missing or invalid: send Authorization: Bearer <token>"
        )
