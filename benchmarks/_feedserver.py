"""A small HTTP/1.1 server for benchmarks: serves corpus feeds under many distinct URLs.

Run as its own process (benchmarks/ingest.py starts it with subprocess) so that its CPU
time never lands in the measured process's accounting:

    python benchmarks/_feedserver.py CORPUS_DIR COPIES

It binds 127.0.0.1 on a free port and prints one JSON line {"port": ..., "paths": [...]}
on stdout, then serves until stdin closes (the parent exits) or it gets SIGTERM.

URLs: /feed/<copy>/<index>/<file name>. Two modes, switched with GET /_mode/<name>:

* plain:       200 with the body, no ETag and no Last-Modified (conditional headers are
               ignored): a client can only tell "unchanged" by looking at the body.
* conditional: 200 with ETag and Last-Modified; 304 (no body) when the request's
               If-None-Match or If-Modified-Since matches.

GET /_stats answers the request counts by status, and the connections opened, since the
last mode switch (a client that keeps connections alive opens few).
asyncio protocol, keep-alive, no framework: it should cost far less CPU per request than
the clients it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sys
import threading
from collections import Counter
from pathlib import Path

FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")
LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in FEED_SUFFIXES)


def _content_type(path: Path) -> str:
    # application/* (not text/xml) so that the XML declaration's encoding wins, as it
    # would for most real servers' feed content types.
    return {
        ".rss": "application/rss+xml",
        ".atom": "application/atom+xml",
        ".rdf": "application/rdf+xml",
    }.get(path.suffix, "application/xml")


class _State:
    def __init__(self, root: Path, copies: int) -> None:
        self.mode = "plain"
        self.stats: Counter[str] = Counter()
        self.docs: dict[str, tuple[bytes, bytes, bytes]] = {}  # path -> (plain, cond, 304)
        self.etags: dict[str, str] = {}
        self.paths: list[str] = []
        files = corpus_files(root)
        for index, path in enumerate(files):
            body = path.read_bytes()
            extra = "Content-Encoding: gzip\r\n" if body[:2] == b"\x1f\x8b" else ""
            etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
            common = (
                f"Content-Type: {_content_type(path)}\r\n{extra}Content-Length: {len(body)}\r\n"
            )
            plain = f"HTTP/1.1 200 OK\r\n{common}\r\n".encode() + body
            cond = (
                f"HTTP/1.1 200 OK\r\n{common}ETag: {etag}\r\nLast-Modified: {LAST_MODIFIED}\r\n\r\n"
            ).encode() + body
            not_modified = (
                f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n"
                f"Last-Modified: {LAST_MODIFIED}\r\n\r\n"
            ).encode()
            for copy in range(copies):
                url_path = f"/feed/{copy}/{index}/{path.name}"
                self.docs[url_path] = (plain, cond, not_modified)
                self.etags[url_path] = etag
                self.paths.append(url_path)


def _simple(status: str, body: bytes, content_type: str = "text/plain") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class _Protocol(asyncio.Protocol):
    def __init__(self, state: _State) -> None:
        self.state = state
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.state.stats["connections"] += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            close = self._answer(head)
            if close:
                assert self.transport is not None
                self.transport.close()
                return

    def _answer(self, head: bytes) -> bool:
        assert self.transport is not None
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            self.transport.write(_simple("400 Bad Request", b"bad request line"))
            return True
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
        state = self.state
        path = target.split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            response = _simple("405 Method Not Allowed", b"")
        elif path in state.docs:
            plain, cond, not_modified = state.docs[path]
            if state.mode == "plain":
                response, status = plain, "200"
            elif (
                headers.get("if-none-match") == state.etags[path]
                or headers.get("if-modified-since") == LAST_MODIFIED
            ):
                response, status = not_modified, "304"
            else:
                response, status = cond, "200"
            state.stats[status] += 1
        elif path.startswith("/_mode/"):
            state.mode = path.removeprefix("/_mode/")
            state.stats.clear()
            response = _simple("200 OK", state.mode.encode())
        elif path == "/_stats":
            response = _simple("200 OK", json.dumps(state.stats).encode(), "application/json")
        else:
            state.stats["404"] += 1
            response = _simple("404 Not Found", b"not found")
        if method == "HEAD":
            response = response.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
        self.transport.write(response)
        return close


async def _serve(root: Path, copies: int) -> None:
    state = _State(root, copies)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Protocol(state), "127.0.0.1", 0, backlog=1024, reuse_address=True
    )
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port, "paths": state.paths}), flush=True)
    stop = asyncio.Event()

    def watch_stdin() -> None:  # the parent closing our stdin (or dying) ends the server
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    async with server:
        await stop.wait()


def main() -> None:
    root, copies = Path(sys.argv[1]), int(sys.argv[2])
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(root, copies))


if __name__ == "__main__":
    main()
