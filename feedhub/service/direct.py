"""The app, with routes that skip Litestar's router: `/api/stream`, whose reconnect storms
are where the router's per-request work shows (benchmarks/README.md, "Fan-out").

Such a request goes to the very stack the router would pick for it (the same middleware
instances, the route's own exception layer, its handler), behind the same outer exception
layer, with the scope keys, exception handlers and Host check the router gives it. Only the
lookup is skipped: path normalisation, the route table and the per-request resolution of the
exception handlers (resolved once here). Anything else (another path, a WebSocket, a
`root_path`, an invalid Host) takes the router as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, SimpleNamespace
from typing import Any

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.handlers import ASGIRouteHandler
from litestar.types import ASGIApp, ExceptionHandlersMap, Scope
from litestar.utils.scope.state import ScopeState

__all__ = ["DirectRoutes"]


def _router_parts() -> Any:
    """The pieces of Litestar's router used here, which live in its private modules: None
    on a release that moved them, and then every path takes the router, as before. (The
    lock pins a release that has them; tests/unit/test_direct_routes.py checks it.)"""
    try:
        utils = importlib.import_module("litestar._asgi.utils")
        layer = importlib.import_module("litestar.middleware._internal.exceptions")
        return SimpleNamespace(
            is_valid_host=utils.is_valid_host,
            wrap_in_exception_handler=utils.wrap_in_exception_handler,
            ExceptionHandlerMiddleware=layer.ExceptionHandlerMiddleware,
        )
    except (ImportError, AttributeError):
        return None


_ROUTER = _router_parts()


@dataclass(frozen=True, slots=True)
class _Route:
    path: str
    stack: ASGIApp  # the route's stack, behind an exception layer like the router's
    handler: ASGIRouteHandler
    exception_handlers: ExceptionHandlersMap


class DirectRoutes(Litestar):
    """Litestar, plus `route_directly(path)` for plain-path raw ASGI routes."""

    _direct: Mapping[str, _Route] = MappingProxyType({})

    def route_directly(self, *paths: str) -> None:
        """Serve these paths without the router, if nothing wraps the router that a direct
        call would bypass (CORS, OpenTelemetry, before-send hooks): otherwise leave it."""
        outer = self.asgi_handler
        if (
            _ROUTER is None
            or self.before_send
            or not isinstance(outer, _ROUTER.ExceptionHandlerMiddleware)
            or outer.app is not self.asgi_router
        ):
            return
        if self.csrf_config or self.compression_config or self.allowed_hosts:
            return
        direct: dict[str, _Route] = {}
        for path in paths:
            _, handler, routed, _, template = self.asgi_router.handle_routing(
                path=path, method="GET"
            )
            if (
                not isinstance(handler, ASGIRouteHandler)
                or routed != path
                or template != path
                or handler.copy_scope is not False
                or handler.resolve_guards()
            ):
                raise ValueError(f"{path} is not a plain-path ASGI route without guards")
            direct[path] = _Route(
                path,
                _ROUTER.wrap_in_exception_handler(_stack(handler)),
                handler,
                handler.resolve_exception_handlers(),
            )
        self._direct = MappingProxyType(direct)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        route = self._direct.get(scope["path"]) if scope["type"] == ScopeType.HTTP else None
        if route is None or scope.get("root_path") or not _host_ok(scope):
            await super().__call__(scope, receive, send)
            return
        # What `Litestar.__call__` and the router put in the scope before the route's stack
        # (here rather than in a function of its own: one coroutine less per open stream).
        scope["app"] = scope["litestar_app"] = self
        scope.setdefault("state", {})
        scope["path_params"] = {}
        ScopeState.from_scope(scope).exception_handlers = route.exception_handlers
        scope["route_handler"] = route.handler
        scope["path_template"] = route.path
        await route.stack(scope, receive, send)


def _stack(handler: ASGIRouteHandler) -> ASGIApp:
    """The router's stack for this route (`build_route_middleware_stack`: the resolved
    middleware over an exception layer), around the handler's function itself rather than
    `ASGIRoute.handle`, which only checks guards (none) and copies the scope (not wanted)."""
    stack: ASGIApp = _ROUTER.wrap_in_exception_handler(handler.fn)
    for middleware in handler.resolve_middleware():
        # As the router builds it: a middleware class or factory, or one with its kwargs.
        layer: Any = middleware
        if isinstance(layer, tuple):
            factory, kwargs = layer
            stack = factory(app=stack, **kwargs)
        else:
            stack = layer(app=stack)
    return stack


def _host_ok(scope: Scope) -> bool:
    # The router's check: an invalid Host is its 400.
    for name, value in scope["headers"]:
        if name == b"host":
            return bool(_ROUTER.is_valid_host(value))
    return True
