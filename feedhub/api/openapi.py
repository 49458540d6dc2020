"""What the OpenAPI document says beyond what Litestar infers: the error answers of each
route, the admin bearer scheme, the output feeds' and the stream's media types; and the
documentation page at /schema, which works offline.

The page is Swagger UI from the `swagger-ui-bundle-v2` package (pinned in pyproject.toml),
served by feedhub under /schema/assets: no CDN. It has no inline script (the pages' CSP
allows only feedhub's own scripts): web/js/apidocs.js starts it.

The API fuzzer in the suite (tests/test_fuzz_api.py) checks every answer against this
document, so a status or media type missing here is a failure there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from litestar import Request
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Parameter,
    PathItem,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.router import Router
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

__all__ = [
    "ASSETS_PATH",
    "BEARER",
    "ErrorJSON",
    "assets_router",
    "errors",
    "openapi_config",
]

BEARER = "bearer"


class ErrorJSON(msgspec.Struct):
    """Every error answer: `detail` in words; Litestar's validation adds `extra`."""

    status_code: int
    detail: str
    extra: list[Any] | dict[str, Any] | None = None


_WHY = {
    400: "The request is malformed (a parameter or body of the wrong shape)",
    401: "Not signed in, or the admin token is missing or invalid",
    403: "Not allowed: a reader on an admin route, or the CSRF token is missing or wrong",
    404: "No such category, feed or article",
    413: "The body is over the size limit",
    409: "Conflicts with the current state (exists already, still in use)",
    422: "Well-formed but refused (not a feed, not OPML, a private address, …)",
    429: "Too many failed sign-ins: try again after Retry-After seconds",
    503: "Over a connection limit or the database is unavailable; retry later",
}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """The `responses=` of a route: the error statuses it may answer, all as ErrorJSON."""
    return {
        code: ResponseSpec(ErrorJSON, description=_WHY[code], generate_examples=False)
        for code in codes
    }


ASSETS_PATH = "/schema/assets"


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI from feedhub's own files, started by a script file, not inline."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = msgspec.json.encode(openapi_schema["info"]["title"]).decode().strip('"')
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} API</title>
  <link rel="icon" href="/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
  <script src="{ASSETS_PATH}/swagger-ui-bundle.js" defer></script>
  <script src="{ASSETS_PATH}/swagger-ui-standalone-preset.js" defer></script>
  <script src="/js/apidocs.js" defer></script>
</head>
<body><div id="swagger-ui" data-spec="/schema/openapi.json"></div></body>
</html>
""".encode()


def assets_dir() -> Path:
    return Path(swagger_ui_path)


def assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH, directories=[assets_dir()], include_in_schema=False
    )


def openapi_config(version: str = "0.1.0") -> OpenAPIConfig:
    return OpenAPIConfig(
        title="feedhub",
        version=version,
        path="/schema",
        render_plugins=[OfflineSwagger(path=["/", "/swagger"]), JsonWithStream()],
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="FEEDHUB_ADMIN_TOKEN (printed by `feedhub serve` if unset)",
                )
            }
        ),
    )


def _error_response(code: int) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=_WHY[code],
        content={"application/json": OpenAPIMediaType(schema=Schema(type=OpenAPIType.OBJECT))},
    )


_STREAM_DESCRIPTION = """New articles as Server-Sent Events, filtered by category (none: all).

Events:

- `hello` (at once, on every connection): `{"last_id": N}`, the newest article id then. A
  client that does not see it within a few seconds is behind a buffering proxy and should
  poll `GET /api/articles?after=<id>` instead.
- `article` (with `id:` = the article id): the article JSON, as in `GET /api/articles`.
- `reset`: the resume gap was larger than the replay limit; reload the list.
- `: keep-alive` comments every FEEDHUB_HEARTBEAT_SECONDS (15 s by default).

Resume: send `Last-Event-ID` (browsers do on reconnect) or `?last_event_id=`: every
article of those categories with a larger id is replayed from the database, oldest first,
then the stream goes live. Never compressed; `Cache-Control: no-cache`,
`X-Accel-Buffering: no`.
"""


def _stream_path_item() -> PathItem:
    text = Schema(type=OpenAPIType.STRING)
    strings = Schema(type=OpenAPIType.ARRAY, items=text)
    last_id = Schema(type=OpenAPIType.STRING, max_length=64)
    operation = Operation(
        summary="New articles as Server-Sent Events",
        operation_id="Stream",
        description=_STREAM_DESCRIPTION,
        parameters=[
            Parameter(name="category", param_in="query", required=False, schema=strings),
            Parameter(name="last_event_id", param_in="query", required=False, schema=last_id),
            Parameter(name="Last-Event-ID", param_in="header", required=False, schema=last_id),
        ],
        responses={
            "200": OpenAPIResponse(
                description="hello, then articles as they are committed, and keep-alives",
                content={
                    "text/event-stream": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
                },
            ),
            "404": _error_response(404),
            "503": _error_response(503),
        },
    )
    return PathItem(get=operation)


class JsonWithStream(JsonRenderPlugin):
    """`/schema/openapi.json`, with `GET /api/stream` added: a raw ASGI route, which
    Litestar leaves out of the document.

    Added when the document is first served rather than when the app is built: building
    the document costs more than the rest of `create_app`'s own work, and most processes
    (and every test app) never serve it.
    """

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        # The document is built once per app and handed to every render: add the path once.
        paths = openapi_schema.setdefault("paths", {})
        if "/api/stream" not in paths:
            paths["/api/stream"] = _stream_path_item().to_schema()
        return super().render(request, openapi_schema)
