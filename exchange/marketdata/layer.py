"""The Channels layer on Redis, made to fail in a way a WebSocket client can recover from.

When Redis restarts, channels_redis's blocking receive raises ``ConnectionError`` inside the
consumer, Channels closes the socket with 1011 (internal error), and, if Redis kept nothing, the
socket's group memberships are gone: a socket that survived would silently stop receiving. So a
lost layer becomes a ``layer.lost`` message instead: the consumer closes the socket with 4503
(unavailable), and the client reconnects at once and takes a fresh snapshot.

Connections in the pool that were open when Redis went away fail on their first use; joining a
group retries a few times quickly so the first reconnect after a restart does not fail on one.
"""
import asyncio
import contextlib
import logging

from channels_redis.core import RedisChannelLayer
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

LAYER_LOST = {"type": "layer.lost"}
# Daphne (autobahn) sends only 1000 or 3000-4999; like the consumers' 4401/4403/4404, 4503 follows
# HTTP: the service is briefly unavailable, reconnect now and resync.
CLOSE_UNAVAILABLE = 4503
JOIN_ATTEMPTS = 4
JOIN_FIRST_PAUSE = 0.05


class ResilientRedisChannelLayer(RedisChannelLayer):
    """channels_redis's layer whose receive reports a lost Redis as a message, not an exception."""

    async def receive(self, channel):
        try:
            return await super().receive(channel)
        except (RedisError, OSError) as exc:
            log.warning("channel layer lost Redis (%r): closing %s so its client resyncs", exc, channel)
            await self._drop_connections()
            return dict(LAYER_LOST)

    async def _drop_connections(self) -> None:
        """Forget every pooled connection: after a restart each one left in the pool would fail
        once more, closing the sockets of clients that had already reconnected."""
        for loop_layer in list(self._layers.values()):
            with contextlib.suppress(Exception):  # closing a dead connection may fail in any way
                await loop_layer.flush()


async def group_join(layer, group: str, channel: str) -> bool:
    """``group_add`` with quick retries over stale pooled connections; False when Redis is down."""
    pause = JOIN_FIRST_PAUSE
    for attempt in range(JOIN_ATTEMPTS):
        try:
            await layer.group_add(group, channel)
            return True
        except (RedisError, OSError):
            if attempt == JOIN_ATTEMPTS - 1:
                return False
            await asyncio.sleep(pause)
            pause *= 2
    return False
