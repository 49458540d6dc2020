"""The admin guard: the admin bearer token (compared in constant time, never logged) or a
signed-in admin user. Who is asking was settled once by `feedhub.api.identity`."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from feedhub.api.identity import require_admin
from feedhub.core.errors import AuthError, ForbiddenError

__all__ = ["admin_guard"]


def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    try:
        require_admin(connection)
    except AuthError as exc:
        raise NotAuthorizedException(detail=str(exc)) from None
    except ForbiddenError as exc:
        raise PermissionDeniedException(detail=str(exc)) from None
