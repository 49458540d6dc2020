"""Bulk OPML import as a background job: started by one request, watched and cancelled
by others.

A 10,000-outline import took 41 s inside one request and went on after its client had
gone. Now `POST /api/admin/opml` answers at once for small documents only
(`opml_sync_max_feeds`); any document up to `opml_max_feeds` feeds can be imported by
`POST /api/admin/opml/jobs`, which answers 202 with the job, whose progress
`GET /api/admin/opml/jobs/{id}` reports and which `DELETE` cancels. Each feed is its own
transaction, so a cancelled job leaves the feeds it created and nothing half-made.

Jobs live in the memory of the process that runs them: after a restart, importing the
document again reports what exists and creates the rest.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog import opml
from feedhub.catalog.opml import ImportReport
from feedhub.core.errors import ConflictError, NotFoundError, ValidationError
from feedhub.ingest.opml import read_opml

__all__ = ["ImportJobJSON", "OpmlJobs"]

log = logging.getLogger(__name__)

# Finished jobs kept for their status page, oldest forgotten first.
_KEEP_FINISHED = 20


class ImportJobJSON(msgspec.Struct):
    id: str
    status: str  # "running", "done", "cancelled" or "failed"
    total: int  # feeds in the document
    done: int  # feeds handled so far
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    report: ImportReport | None = None  # once done


class _Job:
    def __init__(self, job_id: str, total: int) -> None:
        self.id = job_id
        self.status = "running"
        self.total = total
        self.done = 0
        self.started_at = datetime.now(UTC)
        self.finished_at: datetime | None = None
        self.error: str | None = None
        self.report: ImportReport | None = None
        self.task: asyncio.Task[None] | None = None

    def json(self) -> ImportJobJSON:
        return ImportJobJSON(
            id=self.id, status=self.status, total=self.total, done=self.done,
            started_at=self.started_at, finished_at=self.finished_at, error=self.error,
            report=self.report,
        )  # fmt: skip


class OpmlJobs:
    """The import jobs of this process; at most `max_running` at a time."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        default_category: str,
        allow_private: bool,
        max_feeds: int,
        max_running: int = 1,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.default_category = default_category
        self.allow_private = allow_private
        self.max_feeds = max_feeds
        self.max_running = max_running
        self._clock = clock
        self._jobs: dict[str, _Job] = {}

    def check_size(self, data: bytes, limit: int, hint: str = "") -> int:
        """The document's feed count; ValidationError (422) when it is not OPML or lists
        more than `limit` feeds. Runs before anything is created."""
        if not data.strip():
            raise ValidationError("send an OPML document as the request body")
        total = len(read_opml(data, default_category=self.default_category).feeds)
        if total > limit:
            raise ValidationError(f"the document lists {total} feeds; at most {limit}{hint}")
        return total

    def start(self, data: bytes) -> ImportJobJSON:
        total = self.check_size(data, self.max_feeds)
        running = sum(1 for job in self._jobs.values() if job.status == "running")
        if running >= self.max_running:
            raise ConflictError("an OPML import is already running: wait for it or cancel it")
        job = _Job(secrets.token_urlsafe(9), total)
        self._jobs[job.id] = job
        job.task = asyncio.create_task(self._run(job, data), name=f"opml-import-{job.id}")
        self._forget_old()
        return job.json()

    def get(self, job_id: str) -> ImportJobJSON:
        return self._job(job_id).json()

    async def cancel(self, job_id: str) -> ImportJobJSON:
        job = self._job(job_id)
        if job.status == "running" and job.task is not None:
            job.task.cancel()
            await asyncio.wait([job.task])
        return job.json()

    async def stop(self) -> None:
        """At shutdown: cancel what runs (each feed is its own transaction)."""
        tasks = [job.task for job in self._jobs.values() if job.task and not job.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no OPML import job {job_id!r}")
        return job

    async def _run(self, job: _Job, data: bytes) -> None:
        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        try:
            job.report = await opml.import_opml(
                self.sessions,
                data,
                default_category=self.default_category,
                allow_private=self.allow_private,
                now=self._clock(),
                progress=progress,
            )
            job.status = "done"
        except asyncio.CancelledError:
            job.status = "cancelled"
            log.info("OPML import %s cancelled after %d of %d feeds", job.id, job.done, job.total)
        except Exception as exc:
            job.status, job.error = "failed", str(exc) or repr(exc)
            log.error("OPML import %s failed", job.id, exc_info=exc)
        finally:
            job.finished_at = self._clock()

    def _forget_old(self) -> None:
        finished = sorted(
            (j for j in self._jobs.values() if j.status != "running"), key=lambda j: j.started_at
        )
        for job in finished[: max(0, len(finished) - _KEEP_FINISHED)]:
            del self._jobs[job.id]
