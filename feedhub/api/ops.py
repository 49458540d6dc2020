"""Operations: liveness (`/healthz`), readiness (`/readyz`) and Prometheus `/metrics`.

Liveness says the process answers and should not be restarted; it touches nothing outside
the process, so a database outage does not get every web process killed at once.
Readiness says it can do its job: the database answers, the bus answers, and the schema is
at the migration head this code expects (a process started during a rolling upgrade, before
`feedhub migrate`, stays out of the load balancer).
"""

from __future__ import annotations

import asyncio

from litestar import Response, get
from sqlalchemy import text

from feedhub.api.deps import ServicesDep, SessionDep
from feedhub.core import metrics

__all__ = ["healthz", "metrics_endpoint", "readyz"]

_CHECK_TIMEOUT = 3.0


@get("/healthz")
async def healthz(services: ServicesDep) -> dict[str, object]:
    return {
        "status": "ok",
        **services.hub.stats(),  # feedhub_stream_subscribers, …_queued_batches, tasks
        "scheduler": services.scheduler_on,
        "leader": services.is_leader() if services.is_leader is not None else False,
        "polls_in_flight": services.poller.in_flight_count,
    }


@get("/readyz")
async def readyz(services: ServicesDep, session: SessionDep) -> Response[dict[str, object]]:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT):
            version = await session.scalar(text("SELECT version_num FROM alembic_version"))
        checks["database"] = "ok"
        checks["migrations"] = (
            "ok"
            if version == services.schema_head
            else f"at {version}, this code needs {services.schema_head}: run `feedhub migrate`"
        )
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT):
            await services.hub.bus.ping()
        checks["bus"] = "ok"
    except Exception as exc:
        checks["bus"] = f"unreachable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@get("/metrics", sync_to_thread=False, include_in_schema=False)
def metrics_endpoint(services: ServicesDep) -> Response[bytes]:
    return Response(metrics.render(services.settings.metrics_dir), media_type=metrics.CONTENT_TYPE)
