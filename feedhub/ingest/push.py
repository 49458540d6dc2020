"""A WebSub push in: signature first, then the poll's own parse -> dedupe -> store -> publish.

The pushed document (a whole feed or only its new entries, §7) goes through the poller's
parser with the same entry caps and sanitizer, and is written by `FeedStore.save_poll`
under the same writer lock and dedupe keys: an entry that a poll stored is not stored or
announced again when a push brings it, and the other way round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from feedhub.core.errors import ParseError
from feedhub.core.types import FetchResult
from feedhub.core.urls import redact_url
from feedhub.ingest.decide import FeedUpdate
from feedhub.ingest.doorbell import Doorbell
from feedhub.ingest.feedstore import RATE_SAMPLE
from feedhub.ingest.poller import Poller
from feedhub.ingest.subscriber import Subscriber

__all__ = ["PushIntake", "PushResult"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PushResult:
    # accepted | dropped (bad signature, unknown or ended subscription) | unparsable
    status: str
    new_articles: tuple[int, ...] = ()


class PushIntake:
    def __init__(self, poller: Poller, subscriber: Subscriber) -> None:
        self._poller = poller
        self.subscriber = subscriber

    async def receive(
        self, token: str, body: bytes, *, signature: str | None, content_type: str | None
    ) -> PushResult:
        accepted = await self.subscriber.accept(token, body, signature)
        if accepted is None:
            return PushResult("dropped")
        poller = self._poller
        state = await poller.feeds.load(accepted.feed_id)
        if state is None or not state.enabled:
            return PushResult("dropped")
        now = poller.clock()
        headers = {"content-type": content_type} if content_type else {}
        result = FetchResult(
            url=state.url, final_url=state.url, status=200, headers=headers, body=body,
            etag=None, last_modified=None, fetched_at=now,
        )  # fmt: skip
        try:
            parsed = await poller.parse(result, guid_unreliable=state.guid_unreliable)
        except ParseError as exc:
            log.warning("websub: unparsable push feed_id=%s: %s", state.id, exc)
            return PushResult("unparsable")
        recent = await poller.feeds.recent_published(state.id)
        dates = sorted({*recent, *(entry.published_at for entry in parsed.entries)})

        async def publish(ids: tuple[int, ...]) -> None:
            try:
                await poller.publisher.publish(Doorbell(state.id, state.category, ids))
            except Exception:  # committed: streams catch up from the database
                log.exception("publish failed feed_id=%s ids=%s", state.id, ids[:5])

        saved = await poller.feeds.save_poll(
            state.id, parsed.entries, fetched_at=now, change=FeedUpdate("ok"),
            recent_published=tuple(dates[-RATE_SAMPLE:]), on_commit=publish,
            backlog_window=poller.settings.backlog_window,
        )  # fmt: skip
        log.info(
            "websub: push feed_id=%s url=%s entries=%d new=%d",
            state.id, redact_url(state.url), len(parsed.entries), len(saved.new_ids),
        )  # fmt: skip
        return PushResult("accepted", saved.new_ids)
