"""The fan-out benchmark's baseline: a bare ASGI SSE broadcaster, no framework.

    python benchmarks/_bare_sse.py PORT

Served by uvicorn (uvloop + httptools, no access log) on 127.0.0.1:PORT. It is what a
minimal correct broadcaster costs, so feedhub's figures can be read against it:

* ``GET /stream``: ``retry:`` + ``event: hello``, then every broadcast. One coroutine per
  client waits on its own unbounded queue; a second one waits for the disconnect and wakes
  the first (without it a closed stream would leak its task and queue).
* ``POST /publish?t=<trigger>&n=<count>``: encodes ``n`` article-shaped events once into ONE
  bytes object (titles ``fanout <trigger> <k>``, the same shape and size as feedhub's
  article JSON) and hands that same object to every client's queue.
* ``GET /healthz``: ``{"subscribers": N}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any
from urllib.parse import parse_qs

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_SUMMARY = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 5

_queues: set[asyncio.Queue[bytes | None]] = set()
_next_id = 0


def _event(event_id: int, title: str) -> bytes:
    article = {
        "id": event_id,
        "feed_id": 1,
        "feed_title": "Bench feed",
        "category": "bench",
        "title": title,
        "url": f"http://127.0.0.1/a/{event_id}",
        "summary": _SUMMARY,
        "author": None,
        "published_at": "2024-01-01T00:00:00Z",
        "fetched_at": "2024-01-01T00:00:00Z",
    }
    data = json.dumps(article, separators=(",", ":")).encode()
    return b"id: %d\nevent: article\ndata: %s\n\n" % (event_id, data)


async def _json(send: Any, body: object) -> None:
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(raw)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": raw})


async def _stream(receive: Any, send: Any) -> None:
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        queue.put_nowait(None)

    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body",
                "body": b'retry: 3000\n\nid: 0\nevent: hello\ndata: {"last_id":0}\n\n',
                "more_body": True})  # fmt: skip
    _queues.add(queue)
    watcher = asyncio.create_task(watch())
    try:
        while (data := await queue.get()) is not None:
            await send({"type": "http.response.body", "body": data, "more_body": True})
    finally:
        _queues.discard(queue)
        watcher.cancel()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _next_id
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/stream":
        await _stream(receive, send)
    elif path == "/publish" and scope["method"] == "POST":
        query = parse_qs(scope["query_string"].decode())
        trigger, count = query["t"][0], int(query.get("n", ["1"])[0])
        events = []
        for k in range(count):
            _next_id += 1
            events.append(_event(_next_id, f"fanout {trigger} {k}"))
        data = b"".join(events)  # encoded once, the same object for every client
        for queue in _queues:
            queue.put_nowait(data)
        await _json(send, {"subscribers": len(_queues)})
    elif path == "/healthz":
        await _json(send, {"subscribers": len(_queues)})
    else:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def main() -> None:
    import uvicorn

    port = int(sys.argv[1])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
        lifespan="off", access_log=False, log_level="warning", timeout_graceful_shutdown=2,
    )  # fmt: skip
    server = uvicorn.Server(config)
    print(f"bare-sse: listening on http://127.0.0.1:{port}", flush=True)
    server.run()


if __name__ == "__main__":
    main()
