"""A minimal HTTP/1.1 keep-alive client for the load generator: as little CPU per request as Python allows.

The generator shares the 2 cores with the venue it measures, so every millisecond it spends is
taken from the venue: with aiohttp (its request and response objects, header multidicts, cookie
jar, tracing hooks) the generator cost 0.7 ms of CPU per order, with this client 0.45-0.5 ms
(same venue, same run; 364 against 395-403 orders/s accepted at 500 offered). This client
writes each request as one bytes object on an asyncio ``Protocol`` and parses only the status line,
``Content-Length`` (or a chunked body) and ``Connection: close``: what a load generator such as wrk
does in C. One request at a time per connection (no pipelining), at most ``limit`` connections,
reused while the server keeps them alive.
"""
from __future__ import annotations

import asyncio
from collections import deque
from urllib.parse import urlsplit


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("the server closed the connection"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        reply = _parse(self.buffer)
        if reply is not None:
            self.waiter.set_result(reply)

    def request(self, raw: bytes) -> asyncio.Future:
        self.waiter = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        self.transport.write(raw)
        return self.waiter


def _parse(buffer: bytearray) -> tuple[int, bytes, bool] | None:
    """(status, body, keep alive) once ``buffer`` holds a whole response (removed from it), else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).split(b"\r\n")
    status = int(head[0].split(b" ", 2)[1])
    length, chunked, keep = 0, False, True
    for line in head[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
    start = end + 4
    if not chunked:
        if len(buffer) < start + length:
            return None
        body = bytes(buffer[start:start + length])
        del buffer[:start + length]
        return status, body, keep
    parts, at = [], start
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
        if len(buffer) < line_end + 2 + size + 2:
            return None
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", line_end)
            if trailer_end < 0:
                return None
            del buffer[:trailer_end + 4]
            return status, b"".join(parts), keep
        parts.append(bytes(buffer[line_end + 2:line_end + 2 + size]))
        at = line_end + 2 + size + 2


class RawHttpPool:
    """Keep-alive connections to one server; ``request`` sends one and returns (status, body)."""

    def __init__(self, url: str, *, limit: int, timeout: float = 30) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.host_header = parts.netloc.encode()
        self.timeout = timeout
        self.idle: deque[_Connection] = deque()
        self.slots = asyncio.Semaphore(limit)

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
        raw = b"".join([f"{method} {path} HTTP/1.1\r\n".encode(), b"Host: ", self.host_header, b"\r\n",
                        *(f"{name}: {value}\r\n".encode() for name, value in headers.items()),
                        f"Content-Length: {len(body)}\r\n\r\n".encode(), body])
        async with self.slots:
            connection = await self._connection()
            try:
                status, reply, keep = await asyncio.wait_for(connection.request(raw), self.timeout)
            except BaseException:
                if connection.transport is not None:
                    connection.transport.close()
                raise
            if keep and not connection.closed:
                self.idle.append(connection)
            elif connection.transport is not None:
                connection.transport.close()
            return status, reply

    async def _connection(self) -> _Connection:
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed:
                return connection
        _, connection = await asyncio.get_running_loop().create_connection(_Connection, self.host, self.port)
        return connection

    def close(self) -> None:
        while self.idle:
            connection = self.idle.pop()
            if connection.transport is not None:
                connection.transport.close()
