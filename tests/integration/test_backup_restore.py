"""`feedhub backup` while the service polls and streams, `feedhub restore` into
a service that then works: its stream replays from the restored database and goes live.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support import prefork
from tests.support.feedserver import FeedServer
from tests.support.server import ServerProcess
from tests.support.sse import Newsroom, RawStream

pytestmark = pytest.mark.slow


def _feedhub(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return prefork.run(list(args), server.env(), server.workdir, timeout=120)


def _ids(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return [row[0] for row in conn.execute("SELECT id FROM article ORDER BY id")]


async def test_backup_while_polling_then_restore(
    server_factory: type[ServerProcess], feed_server: FeedServer, tmp_path: Path
) -> None:
    first = server_factory().start()
    room = Newsroom(first, feed_server, ("tech",))
    await room.apublish("tech", 3)

    # Backups taken while the poller keeps committing new articles.
    stop = threading.Event()
    published: list[int] = []

    def keep_polling() -> None:
        while not stop.is_set():
            published.extend(room.publish("tech", 2))

    poller = threading.Thread(target=keep_polling)
    poller.start()
    backups = []
    try:
        for n in range(3):
            result = await asyncio.to_thread(_feedhub, first, "backup", str(tmp_path / f"b{n}.db"))
            assert result.returncode == 0, result.stderr
            backups.append(Path(result.stdout.strip()))
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.to_thread(poller.join, 60)
    assert len(published) >= 4, "the backups ran while articles were being stored"
    kept = _ids(backups[-1])
    live = _ids(first.db_path)
    # Each backup is a consistent prefix of the database (one commit at a time), and the
    # later ones hold more.
    sizes = [len(_ids(b)) for b in backups]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    for backup in backups:
        ids = _ids(backup)
        assert ids == live[: len(ids)]

    # A default-named backup goes to the data directory.
    default = await asyncio.to_thread(_feedhub, first, "backup")
    assert default.returncode == 0
    assert Path(default.stdout.strip()).parent == first.db_path.parent / "data" / "backups"

    # Articles stored after the backup are lost by the restore, by design.
    await room.apublish("tech", 2)
    assert first.terminate() == 0
    restored = await asyncio.to_thread(_feedhub, first, "restore", str(backups[-1]))
    assert restored.returncode == 0, restored.stderr
    assert "schema revision" in restored.stdout and "saved as" in restored.stdout
    assert _ids(first.db_path) == kept
    assert not backups[-1].with_name(backups[-1].name + "-wal").exists()

    # The restored service streams: a reader resuming from an article in the backup gets
    # the rest of the backup replayed, then new articles live.
    second = server_factory(db_path=first.db_path).start()
    room.server, room.url = second, second.url
    stream = await RawStream.open(
        f"{second.url}/api/stream?category=tech", headers={"Last-Event-ID": str(kept[-3])}
    )
    try:
        hello = await stream.next_event()
        assert hello is not None and hello.event == "hello"
        replayed = await stream.articles(2)
        assert [int(e.id or 0) for e in replayed] == kept[-2:]
        (new_id,) = await room.apublish("tech", 1)
        assert new_id > kept[-1]
        seen: list[int] = []
        while new_id not in seen:
            event = await stream.next_event(within=10)
            assert event is not None, f"{new_id} never arrived; saw {seen}"
            if event.event == "article":
                seen.append(int(event.id or 0))
    finally:
        await stream.close()
        second.terminate()


def test_backup_of_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
    env["FEEDHUB_DATABASE_URL"] = "postgresql+asyncpg://u:p@127.0.0.1:1/feedhub"
    env["FEEDHUB_DATA_DIR"] = str(tmp_path / "data")
    for command in (["backup"], ["restore", "x.db"]):
        result = subprocess.run(
            [sys.executable, "-m", "feedhub", *command],
            env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 1 and "pg_dump" in result.stderr, result.stderr
