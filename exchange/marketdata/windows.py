"""Update windows: a market's messages of 100 ms (or 1 s) delivered to a socket as one message.

At 250 orders/s a market produces a few hundred book, trade and ticker messages a second, and
on the default socket every one is a WebSocket message of its own on every socket: with 1,000
subscribers, hundreds of thousands of writes a second for the web processes (and as many parses
for the clients). A socket opened with ``?updates=100ms`` (or ``1000ms``) gets, after the same
snapshot, ``{"type": "batch", "messages": [...]}`` once per window instead: every message of the
window, each exactly as it would have been sent alone, in order (nothing conflated: the book's
``sequence`` chain and every trade are there). A window with nothing in it sends nothing.

Built once per process, not per socket: each web process's hub keeps one ``Window`` per group
and interval, which collects the frames' JSON texts (already encoded once per process,
``frame_text``) as they arrive, starts one timer with the window's first message, and when
it fires joins the texts into the window's text and hands that same string to every socket of
the window. A socket whose snapshot falls inside a window (just after connecting) builds a
filtered text of its own from the window's parts (``batch_text``).
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from exchange.marketdata.wire import text_frame

if TYPE_CHECKING:
    from exchange.marketdata.wire import SocketWriter

# The ``updates`` values a market socket accepts, and their windows in seconds.
UPDATE_WINDOWS = {"100ms": 0.1, "1000ms": 1.0}
# A batched socket this many seconds of windows behind is not keeping up: closed (4503), as a
# default socket 10,000 messages behind is (``hub.SOCKET_QUEUE_MAX``).
BACKLOG_SECONDS = 10.0

Part = tuple[int | None, str]  # (market sequence, or None for a ticker; the message's JSON text)


def batch_text(texts: Iterable[str]) -> str:
    """One WebSocket message holding these messages' JSON texts, in order."""
    return '{"type": "batch", "messages": [' + ", ".join(texts) + "]}"


def frame_text(event: dict, index: int, channel: str | None = None) -> str:
    """The JSON text of ``event["frames"][index]`` (with ``channel`` added when given, for
    ``/ws/stream/``), encoded once per process however many sockets send it."""
    cache = event.setdefault("_texts", {})
    key = (index, channel)
    text = cache.get(key)
    if text is None:
        frame = event["frames"][index]
        text = cache[key] = json.dumps(frame if channel is None else {**frame, "channel": channel})
    return text


def event_texts(event: dict) -> list[Part]:
    """The (sequence, text) of each message a market socket (or a user's socket) would send for
    this group event, encoded once per process and cached on the event (which every socket of the
    process shares)."""
    parts = event.get("_parts")
    if parts is None:
        kind = event["type"]
        if kind == "md.batch":
            parts = [(frame["sequence"], frame_text(event, index)) for index, frame in enumerate(event["frames"])]
        elif kind == "md.ticker":
            parts = [(None, json.dumps(event["ticker"]))]
        elif kind == "user.events":  # a user's socket: each frame as send_json writes it
            parts = [(None, json.dumps(frame)) for frame in event["events"]]
        else:  # not a market socket's (a candle group's messages go to /ws/stream/ only)
            parts = []
        event["_parts"] = parts
    return parts


def event_frames(event: dict) -> bytes:
    """What a caught-up default market socket is sent for this group event, as the WebSocket
    frames on the wire (one per message), built once per process (``wire.py``)."""
    frames = event.get("_frames")
    if frames is None:
        frames = event["_frames"] = b"".join(text_frame(text) for _, text in event_texts(event))
    return frames


class Window:
    """One group's messages of one interval in one process, and the sockets' queues that get them."""

    def __init__(self, group: str, seconds: float, loop: asyncio.AbstractEventLoop,
                 on_slow: Callable[[asyncio.Queue], None],
                 direct: dict[asyncio.Queue, SocketWriter] | None = None) -> None:
        self.group = group
        self.seconds = seconds
        self.loop = loop
        self.on_slow = on_slow
        self.direct = {} if direct is None else direct  # the hub's caught-up sockets (wire.py)
        self.backlog_max = max(2, round(BACKLOG_SECONDS / seconds))
        self.queues: set[asyncio.Queue] = set()
        self.parts: list[Part] = []
        self.timer: asyncio.TimerHandle | None = None

    def add(self, event: dict) -> None:
        """Collect the event's messages; the window's first one starts its timer."""
        parts = event_texts(event)
        if not parts:
            return
        if self.timer is None:
            self.timer = self.loop.call_later(self.seconds, self.flush)
        self.parts.extend(parts)

    def flush(self) -> None:
        """The window is over: its one text to every socket's queue (what they had waiting first),
        or, to a caught-up socket, its one frame written straight to the socket."""
        self.timer = None
        parts, self.parts = self.parts, []
        if not parts or not self.queues:
            return
        sequences = [sequence for sequence, _ in parts if sequence is not None]
        text = batch_text(text for _, text in parts)
        event = {"type": "md.window", "text": text, "parts": parts,
                 "lowest": min(sequences) if sequences else None}
        direct, frame = self.direct, None
        for queue in list(self.queues):
            writer = direct.get(queue)
            if writer is not None:
                if frame is None:
                    frame = text_frame(text)
                if not writer.write(frame):
                    self.on_slow(queue)
            elif queue.qsize() >= self.backlog_max:
                self.on_slow(queue)
            else:
                queue.put_nowait(event)

    def close(self) -> None:
        """Nothing more: what was collected is dropped (its sockets are being told to resync)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.parts = []
        self.queues.clear()


def window_for(event: dict, after: int) -> str | None:
    """The text a socket whose snapshot is at ``after`` sends for a window event: the shared text
    when the whole window is after its snapshot, else its own text of the messages after it
    (None when nothing is)."""
    lowest = event["lowest"]
    if lowest is None or lowest > after:
        return event["text"]
    kept = [text for sequence, text in event["parts"] if sequence is None or sequence > after]
    return batch_text(kept) if kept else None
