"""Shared fixtures: a real feed server, a real SQLite file, a poller, a uvicorn subprocess."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from feedhub.core.config import Settings
from feedhub.db.engine import create_engine, session_factory
from feedhub.db.migrate import upgrade_to_head
from feedhub.ingest.feedstore import FeedStore
from feedhub.ingest.poller import Poller
from feedhub.live.bus import Doorbell
from tests.support.feedserver import FeedServer
from tests.support.pgserver import PgServer, missing, throwaway_cluster
from tests.support.redisserver import RedisServer, find_redis_server
from tests.support.server import ServerProcess
from tests.support.tlscache import share_default_tls_context

CORPUS = Path(__file__).resolve().parent / "corpus"
"""Real feed documents and one real OPML export, with their sources and licences
(tests/corpus/README.md, SOURCES.tsv)."""


def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(autouse=True)
def _private_data_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """feedhub's default data directory is per user (~/.local/share/feedhub): point it,
    for this process and the subprocesses it starts, at a temporary folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


class RecordingPublisher:
    """Stands in for the bus at its interface: records every doorbell."""

    def __init__(self) -> None:
        self.bells: list[Doorbell] = []

    async def publish(self, bell: Doorbell) -> None:
        self.bells.append(bell)

    @property
    def ids(self) -> list[int]:
        return [i for bell in self.bells for i in bell.ids]


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


# -- databases ------------------------------------------------------------------------------
# `db_url` is SQLite unless a test (or its module, `pytestmark = BOTH_DATABASES`) is marked
# `both_databases`: then it runs twice, `[sqlite]` and `[postgresql]`, on a fresh database
# each time. Only tests that exercise database behaviour carry the mark, to keep the suite's
# run time in bounds.
BOTH_DATABASES = pytest.mark.both_databases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_databases"
    ):
        metafunc.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)


def pytest_configure(config: pytest.Config) -> None:
    share_default_tls_context()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (the suite's default): two workers per core. A worker spends a good part of
    its time waiting on the servers, browsers and clients it started; with three workers on
    two cores the suite still left a fifth of the CPU idle, and a fourth filled some of it
    (458 -> 436 s in a warm checkout; docs/development.md, "Suite times")."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) * 2)


SERVER_FIXTURES = {"pg_server", "pg_url", "pg_template", "redis_server", "redis_url", "bus_url"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The quick loop (`-m "not slow and not browser"`) runs on SQLite and the in-memory bus:
    a test that needs a throwaway PostgreSQL or redis-server counts as slow, since the first
    one a worker runs waits for initdb and the template database. Then the modules are put
    in the order the workers should take them (`longest_modules_first`)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgresql = callspec is not None and callspec.params.get("db_backend") == "postgresql"
        if on_postgresql or SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        if item.path.parent.name == "browser":
            item.add_marker(pytest.mark.browser)
    longest_modules_first(items)


def expected_seconds(item: pytest.Item) -> float:
    """A rough cost of a test, from its markers: only the order it gives matters."""
    if item.get_closest_marker("long"):
        return 30.0
    if item.get_closest_marker("browser"):
        return 5.0
    if item.get_closest_marker("slow"):
        return 1.5
    return 0.05


def longest_modules_first(items: list[pytest.Item]) -> None:
    """The modules, the costliest first. xdist (`--dist loadfile --no-loadscope-reorder`)
    hands whole modules to the workers in this order; by default it orders them by their
    number of tests, which left the few long ones (a fresh clone's install, the soak, the
    corpus ingest) for the end, one worker busy for 40 s while the others had finished."""
    cost: dict[Path, float] = {}
    for item in items:
        cost[item.path] = cost.get(item.path, 0.0) + expected_seconds(item)
    items.sort(key=lambda item: -cost[item.path])  # stable: a module's tests keep their order


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One throwaway PostgreSQL cluster for the whole run (tests/support/pgserver.py)."""
    with throwaway_cluster() as server:
        yield server


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> str:
    """A database at migration head, cloned (CREATE DATABASE … TEMPLATE) for each test."""
    name = pg_server.create_database(prefix="head")
    upgrade_to_head(pg_server.url(name))
    return name


@pytest.fixture(scope="session")
def _pg_reused(pg_server: PgServer, pg_template: str) -> list[str]:
    """The name of the database `pg_url` hands out, emptied after each test."""
    return [pg_server.create_database(template=pg_template)]


@pytest.fixture
def pg_url(pg_server: PgServer, pg_template: str, _pg_reused: list[str]) -> Iterator[str]:
    """An empty PostgreSQL database at migration head (ids start at 1), for this test only.

    One database is reused and truncated after each test, which is ten times faster than a new
    one; a test that changes the schema or leaves it unresettable gets it replaced. Tests that
    migrate up and down should use `pg_server.database()` instead."""
    yield pg_server.url(_pg_reused[0])
    try:
        pg_server.reset(_pg_reused[0])
        head = pg_server.psql("SELECT version_num FROM alembic_version", _pg_reused[0])
        intact = head == pg_server.psql("SELECT version_num FROM alembic_version", pg_template)
    except RuntimeError:
        intact = False
    if not intact:
        pg_server.drop_database(_pg_reused[0])
        _pg_reused[0] = pg_server.create_database(template=pg_template)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at migration head, copied for each test (a copy takes a millisecond,
    migrating a new file a tenth of a second: hundreds of tests use one)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "head.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    db = sqlite3.connect(path)
    try:  # everything in the main file, nothing left in a -wal beside it
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return path


@pytest.fixture
def db_url(db_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if db_backend == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    path = tmp_path / "feedhub.db"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One throwaway redis-server for the run; tests that restart it leave it running."""
    binary = find_redis_server()
    if binary is None:
        missing("redis-server is not installed (Debian package `redis-server`)")
    assert binary is not None
    server = RedisServer(binary).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()  # a test killed it and failed before restarting it
    return redis_server.url


@pytest.fixture(params=["redis", "postgresql"])
def bus_url(request: pytest.FixtureRequest, pg_url: str) -> str:
    """The shared bus of a scale-out test on PostgreSQL: Redis pub/sub, then LISTEN/NOTIFY
    on the same database."""
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return pg_url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        allow_private_networks=True,
        parse_workers=0,
        host_min_gap_seconds=0,
        max_polls_per_host=8,
        admin_token="test-token",
        scheduler=False,
        fetch_deadline_seconds=10,
        # The fixtures' feeds are dated years back; tests of the backlog window set it.
        backlog_window_hours=0,
        # Test feeds name sites such as example.com; tests of icons turn them on.
        icon_refresh_hours=0,
    )


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A bare engine on the test's database, for tests of the engine itself."""
    engine = create_engine(db_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
async def poller(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> AsyncIterator[Poller]:
    async with Poller(settings, FeedStore(sessions), publisher) as p:
        yield p


@pytest.fixture
def server_factory(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[type[ServerProcess]]:
    """Start real `feedhub serve` processes; all are stopped at the end of the test. A new
    SQLite file starts as a copy of the migrated template: no Alembic run per start."""
    started: list[ServerProcess] = []

    class Factory(ServerProcess):
        def __init__(self, **kwargs: object) -> None:
            kwargs.setdefault("workdir", tmp_path)
            super().__init__(**kwargs)  # type: ignore[arg-type]
            started.append(self)

        def start(self, timeout: float = 30.0) -> ServerProcess:
            if not self.db_path.exists() and "FEEDHUB_DATABASE_URL" not in self.extra_env:
                shutil.copyfile(request.getfixturevalue("sqlite_template"), self.db_path)
            return super().start(timeout)

    yield Factory
    for server in started:
        server.kill()
        # Captured by pytest and shown only when the test fails: the server's side of a flake.
        print(f"--- log of feedhub serve on port {server.port} ---\n{server.log()[-20000:]}")
