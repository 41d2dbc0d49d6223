"""The short way for the public book: ``GET /api/v1/markets/{symbol}/depth`` on the event loop.

The depth is one atomic read of the Redis book (``bookstore.READ_SCRIPT``). The long way around
it cost far more than the read: a2wsgi's hand-over to a thread, Django's middleware and DRF, and,
worst when order entry is busy, every release of the GIL around a Redis or database round trip on
that thread, each followed by a wait for the GIL behind the web process's order threads. In a 10x
spike of orders the depth's p99 reached 300 ms inside the web process although its work is well
under a millisecond. ``BookDepthDoor`` answers the plain request itself, on the event loop, with
the per-address limit (``api.throttling.Window``, counted in the same Redis) and the same body,
status and security headers as the long way; it goes through an asyncio Redis client, so the
event loop never blocks on it.

Only the plain form takes the short way: no query, or ``levels=N`` in range, and an ``Accept``
the JSON renderer satisfies. Anything else (a bad or extra parameter, a market whose book Redis
does not hold, Redis unreachable) goes the long way, whose answers, errors included, are the
reference (``tests/marketdata/test_depth_door.py`` compares the two).
"""
from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware
from redis.exceptions import RedisError

from exchange.api.throttling import IP_LIMITED, Window, window_waits
from exchange.infra.net import client_ip_from_scope
from exchange.infra.redis_clients import CLIENT_OPTIONS
from exchange.marketdata.bookstore import READ_SCRIPT, keys, snapshot_reply
from exchange.marketdata.selectors import MAX_LEVELS, levels_to_read, snapshot_of

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_PATH = re.compile(r"/api/v1/markets/([A-Za-z0-9]{2,16}-[A-Za-z0-9]{2,16})/depth")
_QUERY = re.compile(rb"levels=([1-9][0-9]{0,3})")
DEFAULT_LEVELS = 100  # as BookDepthApi.InputSerializer
_JSON_ACCEPTED = (b"application/json", b"application/*", b"*/*")
# The view's headers (JSONRenderer's type, DRF's allowed methods) and the clickjacking middleware's.
# Not the long way's ``Vary: Cookie`` (the session middleware's; the depth does not depend on a
# cookie) nor its Content-Security-Policy (for documents; this is JSON), as for signed orders.
_VIEW_HEADERS = [(b"content-type", b"application/json"), (b"allow", b"GET, HEAD, OPTIONS")]
_SECURITY_HEADERS = SecurityMiddleware(lambda request: HttpResponse())


class BookDepthDoor:
    """ASGI: answers the plain depth request itself, hands every other request to ``app``."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._reader: tuple[asyncio.AbstractEventLoop, aioredis.Redis] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plain = _plain_request(scope)
        if plain is None:
            await self.app(scope, receive, send)
            return
        symbol, levels = plain
        try:
            answer = await self._answer(scope, symbol, levels)
        except RedisError:
            answer = None  # the long way knows what to say when Redis is away
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = answer
        await send({"type": "http.response.start", "status": status,
                    "headers": headers + _security_headers(scope) + [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope, symbol: str, levels: int) -> tuple[int, list, bytes] | None:
        # One round trip: the address's count and the book's read together (each await on a
        # loaded process is another wait for the event loop; EVAL, not EVALSHA, so a Redis that
        # lost its scripts needs no second trip).
        window = Window("ip", client_ip_from_scope(scope) or "unknown")
        pipe = self._client().pipeline(transaction=False)
        window.count(pipe)
        pipe.eval(READ_SCRIPT, 5, *keys(symbol)[:5], levels_to_read(levels))
        replies = await pipe.execute()
        wait = window_waits([window], replies[:2])[0]
        if wait is not None:
            body = orjson.dumps({"error": IP_LIMITED})
            return 429, [(b"content-type", b"application/json"), (b"retry-after", str(int(wait) + 1).encode())], body
        head, bids, asks = snapshot_reply(replies[2])
        if head is None:
            return None  # no book in Redis: the long way reads it from the database
        book = snapshot_of(head, bids, asks, levels)
        body = orjson.dumps({"market": symbol, "sequence": book.sequence, "bids": book.bids, "asks": book.asks,
                             "checksum": book.checksum})
        return 200, [*_VIEW_HEADERS, (b"x-frame-options", settings.X_FRAME_OPTIONS.encode())], body

    def _client(self) -> aioredis.Redis:
        """This event loop's Redis client (an asyncio client belongs to one loop)."""
        loop = asyncio.get_running_loop()
        if self._reader is None or self._reader[0] is not loop:
            self._reader = (loop, aioredis.Redis.from_url(settings.REDIS_URL, **CLIENT_OPTIONS))
        return self._reader[1]


def _plain_request(scope: Scope) -> tuple[str, int] | None:
    """(symbol, levels) of a depth request the short way can answer exactly, or None."""
    if scope["type"] != "http" or scope.get("method") != "GET":
        return None
    match = _PATH.fullmatch(scope.get("path", ""))
    if match is None:
        return None
    query = scope.get("query_string", b"")
    if query:
        levels_match = _QUERY.fullmatch(query)
        if levels_match is None or int(levels_match[1]) > MAX_LEVELS:
            return None
        levels = int(levels_match[1])
    else:
        levels = DEFAULT_LEVELS
    for name, value in scope.get("headers", ()):
        if name == b"accept" and not any(kind in value for kind in _JSON_ACCEPTED):
            return None  # DRF's content negotiation decides what to answer
    return match[1].upper(), levels


def _security_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The headers Django's SecurityMiddleware gives the long way's response to this request."""
    response = _SECURITY_HEADERS.process_response(ASGIRequest(scope, io.BytesIO(b"")), HttpResponse())
    return [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in response.items()
            if name.lower() != "content-type"]
