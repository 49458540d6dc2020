"""create_app(settings) -> Litestar: plugins, lifespan, routes, static web/."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from litestar import Litestar, get
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.plugins import InitPluginProtocol
from litestar.response import File
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp

from feedhub.api.admin import AdminController
from feedhub.api.bodies import BodyLimits
from feedhub.api.deps import Services, provide_services, provide_session
from feedhub.api.guard import RequestGuard
from feedhub.api.hidden import HiddenController
from feedhub.api.icons import IconController
from feedhub.api.identity import IdentityMiddleware, Readers, provide_readers
from feedhub.api.jobs import OpmlJobs
from feedhub.api.me import ArticleController, MeController, SessionController
from feedhub.api.openapi import assets_router, openapi_config
from feedhub.api.ops import healthz, metrics_endpoint, readyz
from feedhub.api.outfeeds import OutputFeedController
from feedhub.api.public import PublicController
from feedhub.api.users import UsersController
from feedhub.api.web import (
    SecurityHeaders,
    database_unavailable,
    feedhub_error,
    http_error,
    internal_error,
    log_unhandled,
)
from feedhub.api.websub import websub_handlers
from feedhub.catalog.retention import PruneReport, prune_articles
from feedhub.core.config import Settings
from feedhub.core.datadir import TokenFile
from feedhub.core.errors import FeedhubError
from feedhub.core.logs import configure_logging
from feedhub.core.paths import web_dir
from feedhub.db.engine import DATABASE_DOWN, create_engine, session_factory
from feedhub.db.schema_revision import shipped_head
from feedhub.greader.controllers import greader_handlers
from feedhub.greader.fever import fever_handlers
from feedhub.ingest.feedstore import FeedStore
from feedhub.ingest.iconstore import IconStore
from feedhub.ingest.poller import Poller
from feedhub.ingest.push import PushIntake
from feedhub.ingest.subscriber import Subscriber
from feedhub.live.bus import open_bus
from feedhub.live.hub import StreamHub
from feedhub.live.limits import StreamLimits
from feedhub.live.revocations import Revocations
from feedhub.live.sign_in_limits import SharedLimiter
from feedhub.live.state_events import StateEvents
from feedhub.live.stream import StreamConfig, make_stream_handler
from feedhub.readers import accounts, hashpool
from feedhub.readers.ratelimit import AttemptLimiter
from feedhub.readers.session_peek import SessionPeek
from feedhub.service.claim import ServingClaim
from feedhub.service.direct import DirectRoutes
from feedhub.service.leader import Leadership
from feedhub.service.scheduler import PollScheduler

__all__ = ["app_from_env", "create_app"]

log = logging.getLogger(__name__)


def _tune_gc() -> None:
    """Keep the cyclic GC from pausing the event loop for whole seconds under many streams,
    without letting garbage cycles wait for it.

    10,000 open streams hold about a million GC-tracked objects (tasks, frames, scopes), and
    with CPython's default thresholds every 25 % of heap growth triggers a full collection:
    in the fan-out benchmark these took 150–450 ms each, 2.4 s of a 10,000-client connect
    storm, and landed in delivery rounds as latency spikes. So startup objects (the app,
    Litestar, SQLAlchemy) go to the permanent generation, and full collections run a tenth
    as often. The young generations keep CPython's thresholds: a failed request leaves
    reference cycles (its exception, frames and body), and with gen-0 raised to 10,000 they
    piled up, 60 failed 9 MB requests growing the server by 1.7 GB (benchmarks/README.md,
    "Memory under failing requests"); young collections are cheap however many streams are
    open, since they look only at what was allocated since the last one.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)


def _security_headers(app: ASGIApp) -> ASGIApp:
    return SecurityHeaders(app)


class _ServicesLifespan(InitPluginProtocol):
    """Starts poller, hub (and with it the bus) and scheduler; stops them in reverse.

    A plugin that *appends* to the lifespan list (PITFALLS.md: replacing the list breaks
    other plugins' lifespans, https://github.com/litestar-org/litestar/issues/3601).
    """

    def __init__(
        self,
        services: Services,
        scheduler: PollScheduler | None,
        readers: Readers,
        serving: ServingClaim,
    ) -> None:
        self._services = services
        self._serving = serving
        self._scheduler = scheduler
        self._readers = readers

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self._lifespan)
        return app_config

    @asynccontextmanager
    async def _lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        services = self._services
        await self._serving.start()
        await services.poller.start()
        await services.hub.start()
        await self._readers.events.start()
        await self._readers.limiter.start()
        await self._readers.revocations.start()
        if self._scheduler is not None:
            self._scheduler.start()
        _tune_gc()
        try:
            yield
        finally:
            if self._scheduler is not None:
                self._scheduler.stop()
                if self._scheduler.leadership is not None:
                    await self._scheduler.leadership.close()
            await self._readers.revocations.stop()
            await self._readers.limiter.stop()
            await self._readers.events.stop()
            await services.jobs.stop()
            await services.hub.stop()
            await services.poller.stop()
            await services.hub.bus.close()
            await self._serving.stop()


def _schema_head() -> str | None:
    """What /readyz expects the database at; read from the migration files, so that serving
    imports no Alembic (it is imported to migrate, only when a migration is due)."""
    if (head := shipped_head()) is not None:
        return head
    from feedhub.db.migrate import head_revision  # files it cannot read: ask Alembic

    return head_revision()


def app_from_env() -> Litestar:
    """The app of one `feedhub serve --workers N` worker: the CLI put the settings in the
    environment before uvicorn started the workers (feedhub/service/serve.py), and the path of the
    kept admin token when it came from the data directory, so a rotation reaches them."""
    settings = Settings.from_env()
    # A spawned worker did not run the CLI's logging setup (uvicorn runs with log_config=None).
    configure_logging(settings.log_level, settings.log_json, access_log=settings.access_log)
    token_file = None
    if settings.worker_token_file and settings.admin_token:
        token_file = TokenFile(Path(settings.worker_token_file), settings.admin_token)
    return create_app(settings, token_file=token_file)


def create_app(settings: Settings, *, token_file: TokenFile | None = None) -> Litestar:
    """`token_file`: the admin token lives in the data directory and may be rotated while
    the service runs; otherwise `settings.admin_token` is the token."""
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    bus = open_bus(settings.bus_url)
    leadership = Leadership(settings.database_url)
    # Claims carry the leader-lock session's pid: they die with this process (FeedStore).
    websub = Subscriber(settings, sessions)
    feed_store = FeedStore(sessions, claimer=lambda: leadership.backend_pid)
    poller = Poller(settings, feed_store, bus, websub=websub, icons=IconStore(sessions))
    hub = StreamHub(
        sessions,
        bus,
        queue_size=settings.stream_queue_size,
        heartbeat_seconds=settings.heartbeat_seconds,
        safety_seconds=settings.bus_safety_seconds,
    )

    async def housekeeping() -> PruneReport:
        return await prune_articles(
            sessions,
            now=datetime.now(UTC),
            days=settings.retention_days,
            min_per_feed=settings.retention_min_per_feed,
        )

    scheduler = (
        PollScheduler(
            poller,
            tick_seconds=settings.tick_seconds,
            housekeeping=housekeeping,
            housekeeping_hours=settings.housekeeping_hours,
            leadership=leadership,
            websub=websub,
        )
        if settings.scheduler
        else None
    )
    jobs = OpmlJobs(
        sessions,
        default_category=settings.default_category,
        allow_private=settings.allow_private_networks,
        max_feeds=settings.opml_max_feeds,
    )
    services = Services(
        settings,
        sessions,
        poller,
        hub,
        scheduler_on=scheduler is not None,
        jobs=jobs,
        schema_head=_schema_head(),
        is_leader=(lambda: leadership.is_leader) if scheduler is not None else None,
        push=PushIntake(poller, websub),
    )
    state_events = StateEvents(bus)

    async def live_sessions(ids: Collection[int]) -> set[int]:
        async with sessions() as session:
            return await accounts.live_session_ids(session, ids, readers.clock())

    revocations = Revocations(bus, live_sessions, settings.stream_session_check_seconds)
    stream = make_stream_handler(
        hub,
        sessions,
        StreamConfig(replay_limit=settings.stream_replay_limit),
        StreamLimits(max_total=settings.max_streams, per_client=settings.max_streams_per_client),
        state_events,
        revocations,
    )
    hashpool.configure(settings.password_workers, settings.password_queue)
    readers = Readers(
        settings,
        sessions,
        state_events,
        SharedLimiter(
            AttemptLimiter(
                settings.login_attempts,
                settings.login_window_seconds,
                settings.login_network_attempts,
            ),
            bus,
        ),
        revocations,
        # A token kept in the data directory is re-read when rotated (state.TokenFile).
        admin_token=token_file.current if token_file is not None else lambda: settings.admin_token,
        session_peek=SessionPeek.of(engine),
    )
    web = web_dir()

    @get("/admin", include_in_schema=False, sync_to_thread=False)
    def admin_page() -> File:
        return File(web / "admin.html", filename="admin.html", content_disposition_type="inline")

    @get("/signin", include_in_schema=False, sync_to_thread=False)
    def signin_page() -> File:
        return File(web / "signin.html", filename="signin.html", content_disposition_type="inline")

    async def dispose_engine() -> None:
        if readers.session_peek is not None:
            readers.session_peek.close()
        await engine.dispose()

    app = DirectRoutes(
        route_handlers=[
            PublicController,
            IconController,
            OutputFeedController,
            AdminController,
            UsersController,
            SessionController,
            MeController,
            HiddenController,
            ArticleController,
            *greader_handlers(),
            *websub_handlers(),
            *fever_handlers(),
            healthz,
            readyz,
            metrics_endpoint,
            stream,
            admin_page,
            signin_page,
            assets_router(),
            create_static_files_router(
                path="/", directories=[web], html_mode=True, include_in_schema=False
            ),
        ],
        dependencies={
            "session": Provide(provide_session),
            "services": Provide(provide_services, sync_to_thread=False),
            "readers": Provide(provide_readers, sync_to_thread=False),
        },
        plugins=[
            *bus.plugins,
            _ServicesLifespan(services, scheduler, readers, ServingClaim(settings.database_url)),
        ],
        exception_handlers={
            FeedhubError: feedhub_error,
            HTTPException: http_error,
            **dict.fromkeys(DATABASE_DOWN, database_unavailable),
            Exception: internal_error,
        },
        after_exception=[log_unhandled],
        # Security headers outermost, so the guard's and the identity middleware's own
        # refusals carry them; the guard before anything that reads a body or assumes HTTP.
        middleware=[
            _security_headers,
            DefineMiddleware(RequestGuard, limits=_body_limits(settings)),
            DefineMiddleware(IdentityMiddleware, readers=readers),
        ],
        openapi_config=openapi_config(_version()),
        # Logging is set up once for the whole process by the CLI (feedhub.core.logs); Litestar's
        # own config would add a second format.
        logging_config=None,
        on_shutdown=[dispose_engine],
        state=State(
            {
                "settings": settings,
                "services": services,
                "admin_token_file": token_file,
                "readers": readers,
            }
        ),  # fmt: skip
    )
    app.route_directly("/api/stream")
    return app


def _body_limits(settings: Settings) -> BodyLimits:
    return BodyLimits(
        default=settings.max_body_bytes,
        sign_in=settings.max_sign_in_bytes,
        imports=settings.max_import_bytes,
        pushes=settings.max_feed_bytes,
        form_fields=settings.max_form_fields,
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("feedhub")
    except PackageNotFoundError:
        return "0+unknown"
