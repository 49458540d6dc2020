"""What controllers get injected: a session per request and the app's long-lived services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.api.hub import StreamHub
from feedhub.api.jobs import OpmlJobs
from feedhub.config import Settings
from feedhub.ingest.poller import Poller

__all__ = ["Services", "provide_session"]


@dataclass(slots=True)
class Services:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    poller: Poller
    hub: StreamHub
    scheduler_on: bool
    jobs: OpmlJobs


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    services: Services = state.services
    async with services.sessions() as session:
        yield session


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services
