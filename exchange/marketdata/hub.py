"""Market data to WebSockets: one Redis subscription per web process, fanned out in it.

The public messages of a market (book, trades, status, ticker, candles) are the same for every
socket that follows it; a user's order, fill, balance and deposit messages go to their own
``user.{id}`` group, which only their signed-in sockets join. Through Channels groups, each
message was stored in Redis once per socket and read back, decoded and encoded once per socket:
with 1,000 subscribers a web process spent its CPU on that and delivery fell seconds behind.
Instead, every publisher (the matcher's fan-out process, ``fanout.py``; the chain watcher)
PUBLISHes each message once on the group's Redis channel (``infra/pubsub.hub_publish``); every
web process has one ``Hub`` subscribed to all of them, which decodes a message once and hands it
to the queues of its own sockets; each frame is encoded to JSON text once per process
(``windows.frame_text``).

Ordering and gaps: Redis delivers a channel's messages in the order they were published, and a
socket joins its group before it reads its snapshot, so every book message after the snapshot
reaches it. A socket's messages go through a queue that its consumer handles one at a time, after
``connect`` has finished (as Channels does with group messages). If the Hub loses Redis, every
socket is told ``layer.lost`` and closed with 4503 so its client reconnects and resyncs (the
book's gap rule holds either way); the Hub reconnects with backoff.

A market socket may ask for its messages in windows (``?updates=100ms``, ``windows.py``): it
joins the group's ``Window`` of that interval instead of its members, and gets one message per
window, built once in the process for all of them.

Private user streams came here from Channels groups too: with a bot's every order sending two or
three messages through channels_redis (a Lua script per message to store it, a blocking read per
socket to fetch it), the user streams took about a third of a web process's event loop.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import redis.asyncio as aioredis
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from exchange.infra.pubsub import channel_prefix
from exchange.marketdata.windows import Window, event_frames
from exchange.marketdata.wire import SocketWriter

log = logging.getLogger(__name__)

LAYER_LOST = {"type": "layer.lost"}
# Daphne (autobahn) sends only 1000 or 3000-4999; like the consumers' 4401/4403/4404, 4503 follows
# HTTP: the service is briefly unavailable, reconnect now and resync.
CLOSE_UNAVAILABLE = 4503
# A socket whose consumer has this many messages waiting is not keeping up: it is closed (4503)
# and its client resyncs, rather than holding the process's memory.
SOCKET_QUEUE_MAX = 10_000
JOIN_TIMEOUT = 2.0
BACKOFF_FIRST, BACKOFF_MAX = 0.1, 2.0


class Hub:
    """The process's subscription to every public group, and the sockets that joined each."""

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop) -> None:
        self.url = url
        self.loop = loop
        self.prefix = channel_prefix(url)
        self.members: dict[str, set[asyncio.Queue]] = {}
        self.windows: dict[str, dict[float, Window]] = {}  # group -> seconds -> its window
        # Caught-up market sockets, written to directly instead of through their queues (wire.py).
        self.direct: dict[asyncio.Queue, SocketWriter] = {}
        self.ready = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def join(self, group: str, queue: asyncio.Queue, window: float | None = None) -> bool:
        """Add the socket's queue to ``group`` (to its window of ``window`` seconds when given);
        False when Redis cannot be reached now."""
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run(), name="marketdata-hub")
        try:
            await asyncio.wait_for(self.ready.wait(), JOIN_TIMEOUT)
        except TimeoutError:
            return False
        if window is None:
            self.members.setdefault(group, set()).add(queue)
        else:
            windows = self.windows.setdefault(group, {})
            if window not in windows:
                windows[window] = Window(group, window, self.loop, lambda slow: self._slow(group, slow),
                                         self.direct)
            windows[window].queues.add(queue)
        return True

    def go_direct(self, group: str, queue: asyncio.Queue, writer: SocketWriter) -> None:
        """From now on this socket's messages of ``group`` are written to it as they come, not
        queued for its consumer. Only for a socket that is caught up: its snapshot sent, every
        later message to be sent whole, its queue empty (what was queued went out first)."""
        if not queue.empty():
            return
        if queue in self.members.get(group, ()) or any(
                queue in window.queues for window in self.windows.get(group, {}).values()):
            self.direct[queue] = writer

    def leave(self, group: str, queue: asyncio.Queue) -> None:
        self.direct.pop(queue, None)
        members = self.members.get(group)
        if members is not None:
            members.discard(queue)
            if not members:
                del self.members[group]
        windows = self.windows.get(group)
        if windows is not None:
            for seconds, window in list(windows.items()):
                window.queues.discard(queue)
                if not window.queues:
                    window.close()
                    del windows[seconds]
            if not windows:
                del self.windows[group]

    async def _run(self) -> None:
        pause = BACKOFF_FIRST
        while True:
            client = aioredis.Redis.from_url(self.url, health_check_interval=10)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.psubscribe(self.prefix + "*")
                    # Ready once Redis confirms: from then on every PUBLISH reaches this process.
                    confirmation = await pubsub.get_message(timeout=JOIN_TIMEOUT)
                    if confirmation is None or confirmation["type"] != "psubscribe":
                        raise ConnectionError(f"no confirmation of the subscription: {confirmation!r}")
                    self.ready.set()
                    pause = BACKOFF_FIRST
                    async for message in pubsub.listen():
                        if message["type"] == "pmessage":
                            self._deliver(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis gone, or a reply we cannot read: every socket resyncs
                log.warning("market data hub lost Redis (%r): closing %d groups' sockets so clients resync",
                            exc, len(self.members))
            finally:
                self.ready.clear()
                self._lose_everyone()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(pause)
            pause = min(pause * 2, BACKOFF_MAX)

    def _deliver(self, channel: bytes, data: bytes) -> None:
        group = channel.decode()[len(self.prefix):]
        members = self.members.get(group)
        windows = self.windows.get(group)
        if not members and not windows:
            return
        event = json.loads(data)
        direct = self.direct
        for queue in list(members or ()):
            writer = direct.get(queue)
            if writer is not None:
                frames = event_frames(event)
                if frames and not writer.write(frames):
                    self._slow(group, queue)
                continue
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._slow(group, queue)
        for window in list((windows or {}).values()):
            window.add(event)

    def _slow(self, group: str, queue: asyncio.Queue) -> None:
        log.warning("a %s socket fell too far behind (%d messages or windows waiting): closing it",
                    group, queue.qsize())
        self.leave(group, queue)
        _drop_and_lose(queue)

    def _lose_everyone(self) -> None:
        queues = {queue for members in self.members.values() for queue in members}
        for windows in self.windows.values():
            for window in windows.values():
                queues.update(window.queues)
                window.close()
        self.members.clear()
        self.windows.clear()
        self.direct.clear()
        for queue in queues:
            _drop_and_lose(queue)


def _drop_and_lose(queue: asyncio.Queue) -> None:
    """Whatever is waiting is replaced by ``layer.lost``: the socket closes and its client resyncs."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(dict(LAYER_LOST))


_hub: Hub | None = None  # the process's (Daphne runs one event loop; tests run one after another)


def hub() -> Hub:
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop or _hub.url != settings.REDIS_URL:
        _hub = Hub(settings.REDIS_URL, loop)
    return _hub


class HubConsumer(AsyncJsonWebsocketConsumer):
    """A WebSocket consumer fed by the Hub instead of a Channels layer: the client's messages and
    its groups' messages are handled one at a time, each source in arrival order, as Channels does.

    Not with Channels' ``await_many_dispatch``: for every message it waits on both sources
    (``asyncio.wait``) and starts a new task to read the next one, several event-loop turns per
    message per socket. Here each source has one task that reads it in a loop, and a lock makes
    the handlers run one at a time (uncontended, taking it does not even yield)."""

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        self.hub_queue: asyncio.Queue = asyncio.Queue(maxsize=SOCKET_QUEUE_MAX)
        self.hub_groups: set[str] = set()
        self._dispatching = asyncio.Lock()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._pump(receive))
                tasks.create_task(self._pump(self.hub_queue.get))
        except* StopConsumer:
            pass
        finally:
            self.hub_leave_all()

    async def _pump(self, source: Any) -> None:
        """Handle the messages of one source in order, one handler at a time across sources.
        Ends (and so ends the consumer) by the handler's StopConsumer, as in Channels."""
        lock = self._dispatching
        while True:
            message = await source()
            async with lock:
                await self.dispatch(message)

    async def dispatch(self, message: dict) -> None:
        """Channels' dispatch, without its hop to a thread before every message.

        Channels runs ``close_old_connections`` through ``sync_to_async`` (on its one shared
        thread) before each handler, for consumers that use the ORM on the event loop's behalf.
        These consumers reach the database only through ``database_sync_to_async``, which closes
        its connections itself; the hop was paid for every frame of every socket instead: with
        1,000 subscribers, a thousand thread hand-overs, one after another, per book update."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def hub_join(self, group: str, window: float | None = None) -> bool:
        if group in self.hub_groups:
            return True
        if not await hub().join(group, self.hub_queue, window):
            return False
        self.hub_groups.add(group)
        return True

    def hub_go_direct(self, group: str) -> None:
        """This socket is caught up on ``group``: the hub may write its messages straight to it
        (``wire.py``) when the server allows it; otherwise nothing changes."""
        if group not in self.hub_groups or self.hub_queue in hub().direct or not self.hub_queue.empty():
            return
        writer = SocketWriter.for_scope(self.scope)
        if writer is not None:
            hub().go_direct(group, self.hub_queue, writer)

    def hub_leave(self, group: str) -> None:
        if group in self.hub_groups:
            self.hub_groups.discard(group)
            hub().leave(group, self.hub_queue)

    def hub_leave_all(self) -> None:
        for group in list(self.hub_groups):
            self.hub_leave(group)
