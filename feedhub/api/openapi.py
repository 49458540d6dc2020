"""What the OpenAPI document says beyond what Litestar infers: the error answers of each
route, the admin bearer scheme, the output feeds' and the stream's media types.

The API fuzzer in the suite (tests/test_fuzz_api.py) checks every answer against this
document, so a status or media type missing here is a failure there (issue 14).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi import OpenAPIConfig, ResponseSpec
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

__all__ = [
    "BEARER",
    "ErrorJSON",
    "document_stream",
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
    401: "The admin token is missing or invalid (or, on reader routes, no one is signed in)",
    403: "Signed in, but not allowed (a reader on an admin route, a missing CSRF token)",
    404: "No such category, feed or article",
    409: "Conflicts with the current state (exists already, still in use)",
    422: "Well-formed but refused (not a feed, not OPML, a private address, …)",
    429: "Too many failed sign-ins: wait for Retry-After seconds",
    503: "Over a connection limit or the database is unavailable; retry later",
}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """The `responses=` of a route: the error statuses it may answer, all as ErrorJSON."""
    return {
        code: ResponseSpec(ErrorJSON, description=_WHY[code], generate_examples=False)
        for code in codes
    }


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="feedhub",
        version="0.1.0",
        path="/schema",
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


def document_stream(app: Litestar) -> None:
    """Add `GET /api/stream` to the document: a raw ASGI route, which Litestar leaves out."""
    text = Schema(type=OpenAPIType.STRING)
    strings = Schema(type=OpenAPIType.ARRAY, items=text)
    last_id = Schema(type=OpenAPIType.STRING, max_length=64)
    operation = Operation(
        summary="New articles as Server-Sent Events (DESIGN.md, The stream)",
        operation_id="Stream",
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
    schema = app.openapi_schema
    if schema.paths is not None:
        schema.paths["/api/stream"] = PathItem(get=operation)
