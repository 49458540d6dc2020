"""A permanent redirect (301/308) moves a feed's stored URL, unless another feed has it."""

from __future__ import annotations

import logging

from feedhub.core.types import FetchResult
from feedhub.core.urls import normalize_feed_url, redact_url
from feedhub.ingest.decide import FeedState
from feedhub.ingest.feedstore import FeedStore

__all__ = ["permanent_move"]

log = logging.getLogger("feedhub.ingest.poller")


async def permanent_move(feeds: FeedStore, state: FeedState, result: FetchResult) -> str | None:
    """A 301/308 moves the stored URL, unless another feed already has the target."""
    # Stored in normal form, like every feed URL.
    target = normalize_feed_url(result.permanent_url) if result.permanent_url else None
    if not target or target == state.url:
        return None
    if await feeds.url_taken(target):
        log.info(
            "feed_id=%s moved to %s, already subscribed: URL kept",
            state.id, redact_url(target),
        )  # fmt: skip
        return None
    log.info(
        "feed_id=%s moved permanently %s -> %s",
        state.id, redact_url(state.url), redact_url(target),
    )  # fmt: skip
    return target
