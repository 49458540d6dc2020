"""Shared fixtures: a real feed server, a real SQLite file, a poller, a uvicorn subprocess."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.config import Settings
from feedhub.db import create_engine, session_factory
from feedhub.ingest.feedstore import FeedStore
from feedhub.ingest.poller import Poller
from feedhub.live.bus import Doorbell
from feedhub.migrate import upgrade_to_head
from tests.support.feedserver import FeedServer
from tests.support.server import ServerProcess

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


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'feedhub.db'}"
    upgrade_to_head(url)
    return url


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
    )


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url)
    yield session_factory(engine)
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
def server_factory(tmp_path: Path) -> Iterator[type[ServerProcess]]:
    """Start real `feedhub serve` processes; all are stopped at the end of the test."""
    started: list[ServerProcess] = []

    class Factory(ServerProcess):
        def __init__(self, **kwargs: object) -> None:
            kwargs.setdefault("workdir", tmp_path)
            super().__init__(**kwargs)  # type: ignore[arg-type]
            started.append(self)

    yield Factory
    for server in started:
        server.kill()
