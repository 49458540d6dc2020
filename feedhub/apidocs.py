"""The OpenAPI documentation page, working offline, and the live stream in the schema.

Swagger UI's script and styles come from the `swagger-ui-bundle-v2` package (pinned in
pyproject.toml) and are served by feedhub under /schema/assets: the page needs no CDN
(issue 11: /schema was blank without internet). The stream is a raw ASGI route, which
Litestar leaves out of the schema, so its operation is written here by hand.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    Schema,
)
from litestar.router import Router
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

__all__ = ["ASSETS_PATH", "assets_router", "document_stream", "openapi_config"]

ASSETS_PATH = "/schema/assets"

_STREAM_EXAMPLE = """retry: 3000

event: hello
data: {"last_id": 1041}

id: 1042
event: article
data: {"id": 1042, "feed_id": 3, "feed_title": "Example", "category": "tech", ...}

: keep-alive
"""

_STREAM_DESCRIPTION = """New articles as Server-Sent Events, filtered by category.

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


def openapi_config(version: str) -> OpenAPIConfig:
    swagger = SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        path=["/", "/swagger"],
        favicon="<link rel='icon' type='image/svg+xml' href='/favicon.svg'>",
    )
    return OpenAPIConfig(
        title="feedhub",
        version=version,
        path="/schema",
        render_plugins=[swagger],
        description="Admin API (bearer token), public reading API and the live stream.",
    )


def assets_dir() -> Path:
    return Path(swagger_ui_path)


def assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH, directories=[assets_dir()], include_in_schema=False
    )


def _query(name: str, description: str, schema: Schema) -> Parameter:
    return Parameter(
        name=name, param_in="query", required=False, description=description, schema=schema
    )


def document_stream(app: Litestar) -> None:
    """Add `GET /api/stream` to the app's (cached) OpenAPI document."""
    schema = app.openapi_schema
    paths = schema.paths if schema.paths is not None else {}
    string = Schema(type=OpenAPIType.STRING)
    paths["/api/stream"] = PathItem(
        get=Operation(
            summary="Stream",
            operation_id="ApiStream",
            description=_STREAM_DESCRIPTION,
            parameters=[
                _query(
                    "category",
                    "category slug; repeat it (or separate with commas) for several; "
                    "none: every category",
                    Schema(type=OpenAPIType.ARRAY, items=string),
                ),
                _query(
                    "last_event_id",
                    "resume after this article id (the Last-Event-ID header wins)",
                    Schema(type=OpenAPIType.INTEGER, minimum=0),
                ),
                Parameter(
                    name="Last-Event-ID",
                    param_in="header",
                    required=False,
                    description="resume after this article id (sent by EventSource)",
                    schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
                ),
            ],
            responses={
                "200": OpenAPIResponse(
                    description="an endless event stream",
                    content={
                        "text/event-stream": OpenAPIMediaType(
                            schema=string, example=_STREAM_EXAMPLE
                        )
                    },
                ),
                "404": OpenAPIResponse(description="unknown category (JSON `detail`)"),
                "503": OpenAPIResponse(description="the stream is unavailable (JSON `detail`)"),
            },
        )
    )
    schema.paths = paths
