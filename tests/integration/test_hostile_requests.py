"""Requests built to hurt a running `feedhub serve`: a WebSocket upgrade, JSON nested a
thousand deep, bodies over their route's limit (announced or not), forms with more fields
than any route takes. Each gets a clear 4xx with a JSON `detail`, and none an ERROR line.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import TOKEN, ServerProcess

pytestmark = pytest.mark.slow

ENV = {"FEEDHUB_READING": "private", "FEEDHUB_TICK_SECONDS": "3600"}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(workdir=tmp_path_factory.mktemp("hostile"), env=ENV).start()
    try:
        with process.admin() as admin:
            r = admin.post("/api/admin/users", json={"name": "ann", "password": PASSWORD})
            assert r.status_code == 201, r.text
        yield process
    finally:
        process.kill()


def _exchange(server: ServerProcess, request: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes; everything the server answers until it closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer:
                    head, _, rest = answer.partition(b"\r\n\r\n")
                    length = next(
                        (int(line.split(b":")[1]) for line in head.split(b"\r\n")
                         if line.lower().startswith(b"content-length:")),
                        None,
                    )  # fmt: skip
                    if length is not None and len(rest) >= length:
                        break
        except (TimeoutError, ConnectionResetError):
            pass
    return answer


def _status(answer: bytes) -> int:
    assert answer, "the server answered nothing"
    return int(answer.split(b" ", 2)[1])


def _detail(answer: bytes) -> str:
    return str(json.loads(answer.partition(b"\r\n\r\n")[2])["detail"])


def _no_errors(server: ServerProcess) -> None:
    log = server.log()
    assert "Traceback" not in log and " ERROR " not in log, log[-5000:]


def test_a_websocket_upgrade_is_refused_before_any_handler(server: ServerProcess) -> None:
    for path in ("/api/stream", "/api/articles", "/healthz"):
        answer = _exchange(
            server,
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode(),
            timeout=5,
        )
        assert _status(answer) == 403, answer[:300]
    _no_errors(server)


@pytest.mark.parametrize("path", ["/api/session", "/api/admin/categories"])
def test_json_nested_a_thousand_deep_is_a_400(server: ServerProcess, path: str) -> None:
    body = "[" * 1000 + "]" * 1000
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    r = httpx.post(f"{server.url}{path}", content=body, headers=headers, timeout=10)
    assert r.status_code == 400, r.text
    assert "nested too deeply" in r.json()["detail"]
    # Strings holding brackets are no nesting: an ordinary body still reaches its route.
    r = httpx.post(
        f"{server.url}/api/admin/categories", json={"name": "[" * 100 + path}, headers=headers
    )
    assert r.status_code == 201, r.text
    _no_errors(server)


def test_a_body_announced_over_the_routes_limit_is_refused_unread(server: ServerProcess) -> None:
    """10 MB announced to the sign-in route: 413 after the headers, the body never sent."""
    answer = _exchange(
        server,
        b"POST /accounts/ClientLogin HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10485760\r\n\r\n"
        b"Email=a",
        timeout=5,
    )
    assert _status(answer) == 413, answer[:300]
    assert "limit of 4096 bytes" in _detail(answer)
    assert b"connection: close" in answer.lower()


def test_a_chunked_body_is_counted_while_it_arrives(server: ServerProcess) -> None:
    chunk = b"x" * 8192
    answer = _exchange(
        server,
        b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(chunk) + chunk + b"\r\n",
        timeout=5,
    )
    assert _status(answer) == 413, answer[:300]


def test_the_opml_import_takes_more_than_a_sign_in(server: ServerProcess) -> None:
    body = b"<opml>" + b" " * 300_000 + b"</opml>"
    with server.admin() as admin:
        r = admin.post("/api/admin/opml", content=body)
    assert r.status_code != 413, r.text
    r = httpx.post(f"{server.url}/api/session", content=body, timeout=10)
    assert r.status_code == 413, r.text


def test_a_form_with_too_many_fields_is_refused_before_parsing(server: ServerProcess) -> None:
    r = httpx.post(f"{server.url}/accounts/ClientLogin", data={"Email": "ann", "Passwd": PASSWORD})
    assert r.status_code == 200, r.text
    auth = dict(line.split("=", 1) for line in r.text.splitlines())["Auth"]
    headers = {
        "Authorization": f"GoogleLogin auth={auth}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    body = "a=user/-/state/com.google/read" + "&i=1" * 5000
    for path in ("/reader/api/0/edit-tag", "/reader/api/0/stream/items/contents"):
        r = httpx.post(f"{server.url}{path}", content=body, headers=headers, timeout=10)
        assert r.status_code == 400, r.text
        assert "too many parameters: at most 1100" in r.json()["detail"]
    # Within the limit the route itself answers.
    r = httpx.post(
        f"{server.url}/reader/api/0/edit-tag", content=body[:42], headers=headers, timeout=10
    )
    assert r.status_code == 200, r.text
    _no_errors(server)
