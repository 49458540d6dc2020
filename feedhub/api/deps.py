"""What controllers get injected: a session per request and the app's long-lived services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TypeAlias

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.api.jobs import OpmlJobs
from feedhub.core.config import Settings
from feedhub.ingest.poller import Poller
from feedhub.ingest.push import PushIntake
from feedhub.live.hub import StreamHub

__all__ = ["Services", "ServicesDep", "SessionDep", "provide_services", "provide_session"]


@dataclass(slots=True)
class Services:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    poller: Poller
    hub: StreamHub
    scheduler_on: bool
    jobs: OpmlJobs
    # The Alembic revision this code expects (readiness: "migrations at head").
    schema_head: str | None = None
    # Whether this process is the poll leader now (None: it runs no scheduler).
    is_leader: Callable[[], bool] | None = None
    # WebSub: subscriptions and pushes (the callback route, the admin's view of push).
    push: PushIntake | None = None


# What handlers declare: injected by name ("session", "services"), marked explicitly as
# Litestar 3 requires (an inferred dependency is a deprecation warning, and warnings are
# errors in the suite).
SessionDep: TypeAlias = NamedDependency[AsyncSession]
ServicesDep: TypeAlias = NamedDependency[Services]


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    services: Services = state.services
    async with services.sessions() as session:
        yield session


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services
