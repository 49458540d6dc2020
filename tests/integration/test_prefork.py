"""The test launcher stands for `python -m feedhub`: same output, exit statuses and signals."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support import prefork
from tests.support.server import ServerProcess


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
    env["FEEDHUB_DATA_DIR"] = str(data)
    return env


def _last_line(stderr: str) -> str:
    """The error, or the last log line less its timestamp."""
    lines = stderr.splitlines()
    return re.sub(r"^\d{4}-\d\d-\d\d [\d:,]+ ", "", lines[-1]) if lines else ""


def test_a_launched_command_answers_as_a_fresh_interpreter(tmp_path: Path) -> None:
    for argv in (["--version"], ["no-such-verb"], ["categories", "list"]):
        # Each on a database of its own: the first command run on one migrates it.
        name = "-".join(argv)
        launched = prefork.run(argv, _env(tmp_path / "launched" / name), tmp_path, timeout=60)
        fresh = subprocess.run(
            [sys.executable, "-m", "feedhub", *argv], capture_output=True, text=True,
            env=_env(tmp_path / "fresh" / name), cwd=tmp_path, timeout=60,
        )  # fmt: skip
        assert (launched.returncode, launched.stdout) == (fresh.returncode, fresh.stdout), argv
        assert _last_line(launched.stderr) == _last_line(fresh.stderr), argv
    assert prefork.run(["no-such-verb"], _env(tmp_path), tmp_path, timeout=60).returncode == 2


def test_a_launched_server_reports_how_it_ended(server_factory: type[ServerProcess]) -> None:
    stopped = server_factory().start()
    assert isinstance(stopped.proc, prefork.LaunchedProcess), "the launcher did not start"
    assert stopped.proc.poll() is None
    assert stopped.terminate() == 0  # a clean SIGTERM shutdown exits 0
    killed = server_factory().start()
    assert killed.proc is not None and killed.proc.pid != stopped.proc.pid
    killed.kill()
    assert killed.proc.returncode == -signal.SIGKILL


_ORPHANING_WORKER = """
import os, sys, time
from pathlib import Path
from tests.support import prefork
from tests.support.ports import free_port

env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
env.update(FEEDHUB_DATA_DIR=sys.argv[1], FEEDHUB_PORT=str(free_port()))
server = prefork.launch(["serve"], env, Path(sys.argv[1]), Path(sys.argv[1]) / "serve.log")
launcher = prefork._launcher_for(env)
print(launcher.proc.pid, server.pid, flush=True)
time.sleep(600)
"""


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_the_launcher_ends_with_its_worker(tmp_path: Path) -> None:
    """A worker killed outright (a timeout, Ctrl-C twice) leaves no launcher and no server
    behind: the launcher notices it was orphaned and ends what it started."""
    worker = subprocess.Popen(
        [sys.executable, "-c", _ORPHANING_WORKER, str(tmp_path)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        launcher_pid, server_pid = map(int, worker.stdout.readline().split())
        worker.kill()
        worker.wait(10)
        assert _gone(launcher_pid, 10), "the launcher outlived its worker"
        assert _gone(server_pid, 30), "the server outlived its worker's launcher"
    finally:
        worker.kill()
        worker.wait(10)
        if worker.stdout is not None:
            worker.stdout.close()


def test_a_child_that_ends_at_once_is_read_whole(tmp_path: Path) -> None:
    """The launcher sends a child's pid, then its exit status; a command that ends at once
    (`feeds list` takes a tenth of a second) has both in one read."""
    launcher = prefork._Launcher()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(launcher.path))
    listener.listen(1)

    def answer() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(10)
            while not connection.recv(65536).endswith(b"\n"):
                pass
            connection.sendall(b"4242\n3\n")  # the pid and the exit status, in one write
            with contextlib.suppress(OSError):
                connection.recv(1)  # until the client closes

    answering = threading.Thread(target=answer, daemon=True)
    answering.start()
    try:
        child = launcher.launch(
            ["feeds", "list"], {}, tmp_path, stdout=tmp_path / "out", stderr=tmp_path / "err"
        )
        assert child.pid == 4242
        assert child.wait(timeout=10) == 3
    finally:
        answering.join(10)
        listener.close()
