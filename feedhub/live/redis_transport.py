"""The bus on Redis pub/sub (`redis://`, `rediss://`), with redis-py's asyncio client.

The listener runs on a connection of its own with redis-py's retries turned off: a dropped
connection must surface here (redis-py would otherwise reconnect and re-subscribe quietly,
and we would never know to catch up from the database). A ping every few seconds finds a
connection that died without a word (a restarted server behind NAT, a cut cable).
"""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from feedhub.live.transport import (
    CHANNEL,
    BusStats,
    OnConnect,
    OnMessage,
    connected,
    reconnect_forever,
)

__all__ = ["RedisTransport"]

log = logging.getLogger(__name__)

# Seconds between liveness pings on the listening connection, and the wait for a reply.
_PING_EVERY = 5.0
_TIMEOUT = 5.0


class RedisTransport:
    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        self.stats = BusStats()
        self._url = url
        self._channel = channel
        self._publisher: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None

    def _client(self, retries: int) -> aioredis.Redis:
        return aioredis.Redis.from_url(
            self._url,
            socket_connect_timeout=_TIMEOUT,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), retries),
        )

    def _pub(self) -> aioredis.Redis:
        # Publishing may retry once: a publish on a connection that died is sent again on a
        # new one (a doorbell twice is harmless: the hub reads the database).
        if self._publisher is None:
            self._publisher = self._client(retries=1)
        return self._publisher

    async def start(self, on_message: OnMessage, on_connect: OnConnect) -> None:
        async def session() -> None:
            client = self._client(retries=0)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                connected(self.stats, on_connect)
                await self._listen(pubsub, on_message)
            finally:
                await _quietly(pubsub.aclose())
                await _quietly(client.aclose())

        self._task = asyncio.create_task(
            reconnect_forever("redis", session, self.stats), name="bus-redis"
        )

    async def _listen(self, pubsub: aioredis.client.PubSub, on_message: OnMessage) -> None:
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + _PING_EVERY
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is not None and message.get("type") == "message":
                self.stats.received += 1
                data = message["data"]
                on_message(data if isinstance(data, bytes) else str(data).encode())
            if loop.time() >= next_ping:
                # The reply arrives as a message (pong); a dead link raises or times out.
                await asyncio.wait_for(pubsub.ping(), _TIMEOUT)
                next_ping = loop.time() + _PING_EVERY

    async def publish(self, payload: bytes, channel: str | None = None) -> None:
        await self._pub().publish(channel or self._channel, payload)
        self.stats.published += 1

    async def ping(self) -> None:
        await asyncio.wait_for(self._pub().ping(), _TIMEOUT)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._publisher is not None:
            await _quietly(self._publisher.aclose())
            self._publisher = None
        self.stats.connected = False


async def _quietly(awaitable: object) -> None:
    try:
        await awaitable  # type: ignore[misc]
    except Exception as exc:  # closing a dead connection may fail; nothing to do about it
        log.debug("closing a redis connection: %s", exc)
