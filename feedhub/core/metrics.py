"""Prometheus metrics (`GET /metrics`), with prometheus-client.

The metric objects are module globals, as prometheus-client intends: a process has one set.
Under `feedhub serve --workers N`, `serve` hands its workers a fresh directory
(`Settings.metrics_dir`, as PROMETHEUS_MULTIPROC_DIR); prometheus-client then keeps each
worker's values in a file there, and `render()` adds them up, so any worker answers for all
(PITFALLS.md).
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess as _multiprocess,
)

__all__ = [
    "ARTICLES_STORED",
    "BUS_MESSAGES",
    "BUS_RECONNECTS",
    "CONTENT_TYPE",
    "EVENTS_DROPPED",
    "EVENTS_SENT",
    "FETCH_DURATION",
    "LEADER_CHANGES",
    "OPEN_STREAMS",
    "POLLS",
    "RESUMES",
    "RESUME_SIZE",
    "SIGN_IN_ATTEMPTS_HEARD",
    "WEBSUB_PUSHES",
    "WEBSUB_SUBSCRIPTIONS",
    "WEBSUB_VERIFICATIONS",
    "render",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST

POLLS = Counter(
    "feedhub_polls", "Feed polls by outcome (ok, not_modified, unchanged, error, …)", ["outcome"]
)
FETCH_DURATION = Histogram(
    "feedhub_fetch_duration_seconds",
    "Time to fetch one feed (HTTP request and body)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
ARTICLES_STORED = Counter("feedhub_articles_stored", "New articles committed")
OPEN_STREAMS = Gauge("feedhub_open_streams", "SSE streams open now", multiprocess_mode="livesum")
EVENTS_SENT = Counter("feedhub_events_sent", "Article events written to streams, live")
EVENTS_DROPPED = Counter(
    "feedhub_events_dropped",
    "Article events discarded from the queue of a stream ended for falling behind "
    "(its client resumes from the database)",
)
RESUMES = Counter("feedhub_resumes", "Streams opened with a Last-Event-ID")
RESUME_SIZE = Histogram(
    "feedhub_resume_size",
    "Articles replayed per resume",
    buckets=(0, 1, 5, 10, 50, 100, 500, 1000),
)
BUS_MESSAGES = Counter("feedhub_bus_messages", "Doorbells on the bus, by direction", ["direction"])
BUS_RECONNECTS = Counter("feedhub_bus_reconnects", "Times the bus listener reconnected")
LEADER_CHANGES = Counter("feedhub_leader_changes", "Times this process became the poll leader")
SIGN_IN_ATTEMPTS_HEARD = Counter(
    "feedhub_sign_in_attempts_heard",
    "Sign-in attempts announced by other processes and recorded here, by outcome "
    "(counted, succeeded, given_back)",
    ["outcome"],
)
WEBSUB_PUSHES = Counter(
    "feedhub_websub_pushes",
    "WebSub pushes received, by result (accepted; rejected: bad or missing signature, too large)",
    ["result"],
)
WEBSUB_SUBSCRIPTIONS = Gauge(
    "feedhub_websub_subscriptions",
    "WebSub subscriptions by state, as the poll leader's last maintenance run found them",
    ["state"],
    multiprocess_mode="livemax",
)
WEBSUB_VERIFICATIONS = Counter(
    "feedhub_websub_verifications",
    "Hub verifications of intent answered, by mode (subscribe, unsubscribe, denied, refused)",
    ["mode"],
)


def render(multiprocess_dir: str | None) -> bytes:
    """The text exposition: this process's metrics, or every worker's under --workers
    (`multiprocess_dir`: `Settings.metrics_dir`)."""
    if multiprocess_dir:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry, multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
