"""Start `feedhub serve` by forking a process that has already imported feedhub.

A fresh `python -m feedhub serve` spends about a second of CPU importing Litestar,
SQLAlchemy, feedparser and the rest before it serves; the suite starts a few hundred of
them, so on two cores that import alone was minutes of wall time. A launcher, one per
pytest worker, imports those modules once, without starting anything (no event loop, no
engine, no thread), and then forks: each child sets its own environment, directory and
log, starts a session of its own and runs the `feedhub` command's `main`, exactly as the
command-line entry point does. The child is a real, separate `feedhub serve` process with
its own sockets and event loop; it only skips the imports.

A launcher stands for a fresh interpreter only with the values that take effect at
import time (PYTHONPATH, the test password cost): there is one launcher per set of them.
Without one (it failed to start, or FEEDHUB_TEST_NO_LAUNCHER=1) `launch` and `run` start a
plain subprocess.

The launcher reaps its children and reports each exit status on the connection the start
was asked on, so `LaunchedProcess` answers `poll`, `wait` and `returncode` as
`subprocess.Popen` does (a negative status for a signal).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Environment variables read when modules are imported rather than when the command runs:
# a child whose values differ cannot reuse the launcher's imports.
_IMPORT_TIME_ENV = ("PYTHONPATH", "FEEDHUB_TEST_FAST_PASSWORDS")
_PRELOAD = (
    "feedhub.cli",
    "feedhub.service.app",
    "feedhub.service.serve",
    "uvicorn.protocols.http.h11_impl",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.auto",
    "uvicorn.lifespan.on",
    "uvicorn.loops.auto",
)


class LaunchedProcess:
    """A forked child of the launcher, seen through the launcher's connection."""

    def __init__(self, pid: int, channel: socket.socket, buffer: bytes = b"") -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._channel = channel
        self._buffer = buffer  # what came after the pid's line: a quick child's exit status

    def _read_status(self, timeout: float | None) -> None:
        self._channel.settimeout(timeout)
        try:
            while b"\n" not in self._buffer:
                chunk = self._channel.recv(64)
                if not chunk:  # the launcher itself died: the child went with its session
                    self.returncode = -signal.SIGKILL
                    return
                self._buffer += chunk
        except (TimeoutError, BlockingIOError):
            return
        self.returncode = int(self._buffer.split(b"\n", 1)[0])
        self._channel.close()

    def poll(self) -> int | None:
        if self.returncode is None:
            self._read_status(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._read_status(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(["feedhub", "serve"], timeout or 0)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _Launcher:
    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="feedhub-launcher-")) / "sock"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> bool:
        log = (self.path.parent / "launcher.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.prefork", str(self.path)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 60
        while not self.path.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        atexit.register(self.stop)
        return True

    def launch(
        self, argv: list[str], env: dict[str, str], cwd: Path, *, stdout: Path, stderr: Path
    ) -> LaunchedProcess:
        channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        channel.connect(str(self.path))
        request = {
            "argv": argv, "env": env, "cwd": str(cwd), "stdout": str(stdout),
            "stderr": str(stderr),
        }  # fmt: skip
        try:
            channel.sendall(json.dumps(request).encode() + b"\n")
            reply = b""
            while b"\n" not in reply:
                chunk = channel.recv(64)
                if not chunk:
                    log = self.path.parent / "launcher.log"
                    raise RuntimeError(f"the test launcher died: {log}")
                reply += chunk
        except BaseException:
            channel.close()
            raise
        # A child that ends at once sends its exit status right behind its pid, and one
        # read may bring both lines.
        pid, rest = reply.split(b"\n", 1)
        return LaunchedProcess(int(pid), channel, rest)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


# One launcher per set of import-time values (test servers hash passwords cheaply, most
# command-line tests do not); None where one failed to start.
_launchers: dict[tuple[str | None, ...], _Launcher | None] = {}
_launchers_lock = threading.Lock()


def _launcher_for(env: dict[str, str]) -> _Launcher | None:
    if os.environ.get("FEEDHUB_TEST_NO_LAUNCHER") == "1":
        return None
    key = tuple(env.get(name) for name in _IMPORT_TIME_ENV)
    with _launchers_lock:
        if key not in _launchers:
            launcher = _Launcher()
            _launchers[key] = launcher if launcher.start(env) else None
        return _launchers[key]


def launch(
    argv: list[str], env: dict[str, str], cwd: Path, log: Path
) -> LaunchedProcess | subprocess.Popen[bytes]:
    """`python -m feedhub <argv>` in `cwd` with `env`, its output appended to `log`, in a
    session of its own: forked from a launcher, or a plain subprocess without one."""
    if (launcher := _launcher_for(env)) is not None:
        return launcher.launch(argv, env, cwd, stdout=log, stderr=log)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "feedhub", *argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run(
    argv: list[str], env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run([python, -m, feedhub, *argv], capture_output=True, text=True)`,
    forked from a launcher when there is one."""
    launcher = _launcher_for(env)
    if launcher is None:
        return subprocess.run(
            [sys.executable, "-m", "feedhub", *argv],
            capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
        )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="feedhub-run-") as scratch:
        out, err = Path(scratch) / "stdout", Path(scratch) / "stderr"
        child = launcher.launch(argv, env, cwd, stdout=out, stderr=err)
        try:
            code = child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)
            raise
        return subprocess.CompletedProcess(
            ["feedhub", *argv], code, out.read_text(errors="replace"),
            err.read_text(errors="replace"),
        )  # fmt: skip


# -- the launcher process ----------------------------------------------------------------


def _child(request: dict[str, object]) -> None:
    """In the forked child: become `python -m feedhub <argv>` and never return."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update(dict(request["env"]))  # type: ignore[call-overload]
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        for fd, name in ((1, "stdout"), (2, "stderr")):
            out = os.open(str(request[name]), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(out, fd)
            os.close(out)
        if os.environ.get("PYTHONUNBUFFERED"):  # read at start-up, which was the launcher's
            sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        sys.argv = ["feedhub", *request["argv"]]  # type: ignore[misc]
        from feedhub.cli import main

        try:
            code = main(list(request["argv"]))  # type: ignore[call-overload]
        except SystemExit as exc:  # argparse, or sys.exit deep inside
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _status(wait_status: int) -> int:
    if os.WIFSIGNALED(wait_status):
        return -os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


def _serve(path: str) -> None:
    import importlib

    for name in _PRELOAD:
        with contextlib.suppress(ImportError):  # httptools and friends are optional
            importlib.import_module(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".tmp")
    os.rename(path + ".tmp", path)  # the socket appears only once it accepts
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    worker = os.getppid()
    while True:
        if os.getppid() != worker:
            # The pytest worker died without stopping us (killed, or its interpreter
            # crashed): end what we started instead of serving orphans forever.
            for pid in children:
                try:
                    os.killpg(pid, signal.SIGTERM)  # each child leads its own session...
                except ProcessLookupError:
                    # ...once it has called setsid(): one forked a moment ago may not have.
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
            return
        for key, _ in selector.select(timeout=0.05):
            if key.fileobj is listener:
                channel, _ = listener.accept()
                channel.settimeout(10)
                data = b""
                while not data.endswith(b"\n"):
                    chunk = channel.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if not data.endswith(b"\n"):
                    channel.close()
                    continue
                request = json.loads(data)
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    listener.close()
                    for other in children.values():
                        other.close()
                    channel.close()
                    _child(request)
                children[pid] = channel
                channel.sendall(f"{pid}\n".encode())
        while children:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            channel = children.pop(pid, None)
            if channel is not None:
                with contextlib.suppress(OSError):
                    channel.sendall(f"{_status(wait_status)}\n".encode())
                channel.close()


if __name__ == "__main__":
    _serve(sys.argv[1])
