"""`feedhub serve`: one process, or `--workers N` processes sharing one port (uvicorn).

Which topologies work is decided here, at start, with a sentence when refused
(docs/scale-out.md): SQLite serves from one process only — it has one writer at a time,
and our in-memory bus cannot reach another process — so `--workers N` and a second `serve`
on the same SQLite file are refused. Several processes need PostgreSQL, and `--workers`
needs a bus that crosses processes (Redis, or PostgreSQL LISTEN/NOTIFY).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import tempfile
from dataclasses import fields
from types import FrameType
from typing import Any

import uvicorn

from feedhub.core.config import Settings, env_name
from feedhub.core.datadir import TokenFile
from feedhub.core.errors import ConfigError
from feedhub.db.engine import is_sqlite
from feedhub.db.serving import hold_for_serving
from feedhub.live.bus import bus_kind
from feedhub.service.httpserver import (
    ThrottledConcurrencyLog,
    protocol_with_deadlines,
    raise_open_file_limit,
)

__all__ = ["refusal", "serve", "settings_env"]

log = logging.getLogger(__name__)


def refusal(database_url: str, bus_url: str, workers: int) -> str | None:
    """Why this topology cannot work, or None. Pure."""
    if workers < 1:
        return "--workers must be at least 1"
    if workers > 1 and is_sqlite(database_url):
        return (
            "--workers needs PostgreSQL: SQLite has one writer at a time and serves from one "
            "process (see docs/scale-out.md)"
        )
    if workers > 1 and bus_kind(bus_url) == "memory":
        return (
            "--workers needs a bus that crosses processes: set FEEDHUB_BUS_URL to redis://… "
            "or postgresql://… (memory:// reaches one process only)"
        )
    return None


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that rebuild `settings` in a worker process."""
    env: dict[str, str] = {}
    for spec in fields(settings):
        value = getattr(settings, spec.name)
        if value is None:
            continue
        env[env_name(spec)] = (
            ("true" if value else "false") if isinstance(value, bool) else str(value)
        )
    return env


def _hand_over(settings: Settings, token_file: TokenFile | None) -> None:
    """The one handover to the workers uvicorn starts: they inherit this environment and
    rebuild their settings from it (`app_from_env`). With them go the kept token's file,
    so `feedhub token --rotate` reaches every worker, and a fresh directory for
    prometheus-client's multiprocess mode, which each worker reads from the environment
    too (PITFALLS.md)."""
    settings = settings.with_(
        worker_token_file=str(token_file.path) if token_file is not None else None,
        metrics_dir=tempfile.mkdtemp(prefix="feedhub-metrics-"),
    )
    os.environ.update(settings_env(settings))


class _Server(uvicorn.Server):
    """uvicorn, plus: end open streams first on SIGTERM, and exit 0 after a clean stop."""

    def __init__(self, config: uvicorn.Config, settings: Settings, hub: Any) -> None:
        super().__init__(config)
        self._settings = settings
        self._hub = hub
        self._loop: asyncio.AbstractEventLoop | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # End every open stream cleanly first, so EventSource clients reconnect (to the
        # next process) instead of waiting out the graceful timeout.
        if self._loop is not None and self._hub is not None:
            self._loop.call_soon_threadsafe(self._hub.end_all, "shutdown")
        super().handle_exit(sig, frame)
        # uvicorn re-raises a captured SIGTERM after its graceful shutdown, so the process
        # would die of the signal (status 143); a finished graceful shutdown exits 0.
        if sig == signal.SIGTERM and sig in self._captured_signals:
            self._captured_signals.remove(sig)

    async def startup(self, sockets: Any = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)
        if self.started:
            host, port = self._settings.host, self._settings.port
            print(f"feedhub: listening on http://{host}:{port}", flush=True)


def _options(settings: Settings, open_files: int) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        # Open streams would keep a SIGTERM waiting forever (PITFALLS.md).
        "timeout_graceful_shutdown": 5,
        "lifespan": "on",
        "access_log": settings.access_log,
        "proxy_headers": True,
        "log_config": None,  # our handler (feedhub.core.logs): one format for the whole process
        # Past this many connections uvicorn answers 503 itself, before descriptors run out.
        "limit_concurrency": max(64, open_files - 64),
    }


def serve(
    settings: Settings,
    workers: int = 1,
    *,
    token_file: TokenFile | None = None,
    listener: socket.socket | None = None,
) -> int:
    """`listener`: the port, bound by the CLI before anything started (a busy port is one
    line). One process serves on that very socket; `--workers` lets uvicorn bind the port
    for its workers, so the check's socket is closed just before (the port was free)."""
    if (reason := refusal(settings.database_url, settings.bus_url, workers)) is not None:
        raise ConfigError(reason)
    open_files = raise_open_file_limit()
    logging.getLogger("uvicorn.error").addFilter(ThrottledConcurrencyLog())
    if settings.max_streams == 0:
        # Leave descriptors for the database, feeds being fetched and ordinary requests.
        settings = settings.with_(max_streams=max(16, open_files - 256))
    options = _options(settings, open_files)
    if workers == 1:
        from feedhub.service.app import create_app

        lock = hold_for_serving(settings.database_url)
        app = create_app(settings, token_file=token_file)
        http = protocol_with_deadlines(
            settings.header_timeout_seconds,
            settings.body_timeout_seconds,
            settings.max_connections_per_client,
        )
        try:
            config = uvicorn.Config(app, http=http, **options)
            _Server(config, settings, app.state.services.hub).run(
                sockets=[listener] if listener is not None else None
            )
        finally:
            if lock is not None:
                lock.close()
        return 0
    # Several workers: uvicorn starts each with the app factory, which reads the settings
    # from the environment handed over here. The protocol is named, not built: a worker
    # imports it and reads its deadlines from the same settings.
    if listener is not None:
        listener.close()
    _hand_over(settings, token_file)
    print(f"feedhub: starting {workers} workers on http://{settings.host}:{settings.port}")
    uvicorn.run(
        "feedhub.service.app:app_from_env",
        factory=True,
        workers=workers,
        http="feedhub.service.httpserver:WorkerDeadlineProtocol",
        **options,
    )
    return 0
