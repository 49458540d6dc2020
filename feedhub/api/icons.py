"""Feeds' site icons, served by feedhub itself: the page and the apps never ask a feed's
site (no reader's address, cookie or Referer reaches it, and no mixed content).

The bytes are what the poller stored: a raster image whose type was sniffed from its first
bytes (`ingest.icons`). A feed without one gets feedhub's default icon, an SVG document of
our own, served with a CSP sandbox so that even it can run nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.params import PathParameter

from feedhub.api.deps import SessionDep
from feedhub.api.identity import identity_of
from feedhub.api.openapi import errors
from feedhub.catalog.icons import feed_icon
from feedhub.core.types import MAX_ID

__all__ = ["DEFAULT_ICON", "IconController", "icon_path"]

# A rounded square with the feed symbol, in the page's accent colour.
DEFAULT_ICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">'
    b'<rect width="32" height="32" rx="6" fill="#8a94a6"/>'
    b'<circle cx="10" cy="22" r="3" fill="#fff"/>'
    b'<path d="M7 13a12 12 0 0 1 12 12h-4a8 8 0 0 0-8-8z" fill="#fff"/>'
    b'<path d="M7 6a19 19 0 0 1 19 19h-4A15 15 0 0 0 7 10z" fill="#fff"/></svg>'
)
_DEFAULT_ETAG = '"default-1"'
# An SVG is a document: it may run nothing and load nothing, whoever opens it directly.
_SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
# A stored icon changes at most on the poller's icon schedule (a week by default): a day
# of caching costs little; the default icon is replaced once the poller finds one.
_ICON_AGE = 86_400
_DEFAULT_AGE = 3_600
_IMAGE_200 = {
    200: ResponseSpec(bytes, media_type="image/*", description="the icon", generate_examples=False)
}


def icon_path(feed_id: int) -> str:
    return f"/icons/feeds/{feed_id}"


class IconController(Controller):
    path = "/icons"

    @get(
        "/feeds/{feed_id:int}",
        media_type="image/*",
        responses={**_IMAGE_200, **errors(400, 404)},
        summary="A feed's site icon",
    )
    async def feed(
        self,
        request: Request[Any, Any, Any],
        feed_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)],
        session: SessionDep,
    ) -> Response[bytes]:
        """The feed's site icon (PNG, GIF, JPEG, WebP or ICO) with a strong ETag, or
        feedhub's default icon (SVG) while it has none; 404 for no such feed."""
        icon = await feed_icon(session, feed_id)
        # Read with a session (private mode), the answer is that reader's: no shared cache.
        scope = "public" if identity_of(request) is None else "private"
        if icon is None:
            body, media_type, etag, age = DEFAULT_ICON, "image/svg+xml", _DEFAULT_ETAG, _DEFAULT_AGE
        else:
            body, media_type, etag, age = (
                icon.data,
                icon.content_type,
                f'"{icon.sha256}"',
                _ICON_AGE,
            )
        headers = {"ETag": etag, "Cache-Control": f"{scope}, max-age={age}"}
        if icon is None:
            headers["Content-Security-Policy"] = _SVG_CSP
        match = request.headers.get("if-none-match", "")
        if etag in {tag.strip() for tag in match.split(",")} or match.strip() == "*":
            return Response(b"", status_code=304, headers=headers)
        return Response(body, media_type=media_type, headers=headers)
