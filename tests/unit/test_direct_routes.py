"""`DirectRoutes`: a path served without the router gets what the router would give it."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Request, Response, asgi, get
from litestar.middleware import DefineMiddleware
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from feedhub.service.direct import DirectRoutes

seen: list[Exception] = []


class Mark:
    """A middleware the direct path must pass through, with its kwargs."""

    def __init__(self, app: ASGIApp, value: str) -> None:
        self.app = app
        self.value = value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["mark"] = self.value
        await self.app(scope, receive, send)


@asgi("/s", is_mount=False, copy_scope=False)
async def stream(scope: Scope, receive: Receive, send: Send) -> None:
    if scope.get("query_string") == b"fail":
        raise RuntimeError("boom")
    body = b"%s %s %s" % (
        scope["state"]["mark"].encode(),
        scope["route_handler"].handler_name.encode(),
        scope["path_template"].encode(),
    )
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body, "more_body": False})


@get("/page", sync_to_thread=False)
def page() -> str:
    return "page"


def teapot(_: Request[Any, Any, Any], exc: Exception) -> Response[str]:
    return Response(f"handled {exc}", status_code=418)


async def remember(exc: Exception, _: Scope) -> None:
    seen.append(exc)


def make_app() -> DirectRoutes:
    app = DirectRoutes(
        route_handlers=[stream, page],
        middleware=[DefineMiddleware(Mark, value="marked")],
        exception_handlers={Exception: teapot},
        after_exception=[remember],
    )
    app.route_directly("/s")
    return app


def test_a_direct_route_skips_the_router_but_not_the_middleware() -> None:
    app = make_app()
    routed = app.asgi_router.handle_routing.cache_info().hits  # type: ignore[attr-defined]
    with TestClient(app) as client:
        r = client.get("/s")
        assert (r.status_code, r.text) == (200, "marked stream /s")
        assert app.asgi_router.handle_routing.cache_info().hits == routed  # type: ignore[attr-defined]
        # Other paths, and the same path in a form the router normalises, take the router.
        assert client.get("/page").text == "page"
        assert client.get("/s/").text == "marked stream /s"


def test_a_direct_route_s_failure_gets_the_app_s_handlers_and_hooks() -> None:
    seen.clear()
    with TestClient(make_app()) as client:
        r = client.get("/s?fail")
    assert (r.status_code, r.text) == (418, "handled boom")
    assert [str(e) for e in seen] == ["boom"]


def test_an_invalid_host_is_refused_as_on_every_route() -> None:
    bad = {"host": "bad host"}
    with TestClient(make_app()) as client:
        # The router's ClientException, through the app's handlers (here: everything 418).
        assert client.get("/s", headers=bad).status_code == 418
        assert client.get("/page", headers=bad).status_code == 418


def test_only_plain_asgi_routes_go_direct() -> None:
    app = DirectRoutes(route_handlers=[page])
    with pytest.raises(ValueError, match="not a plain-path ASGI route"):
        app.route_directly("/page")


def test_the_locked_litestar_has_the_router_parts() -> None:
    from feedhub.service import direct

    assert direct._ROUTER is not None
    assert "/s" in make_app()._direct


def test_without_the_router_parts_every_path_takes_the_router(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Litestar release that moved its private modules: the app still serves, routed."""
    from feedhub.service import direct

    monkeypatch.setattr(direct, "_ROUTER", None)
    app = make_app()
    assert not app._direct
    with TestClient(app) as client:
        assert client.get("/s").text == "marked stream /s"
