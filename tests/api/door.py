"""Driving the ASGI door for signed order entry (``SignedOrderDoor``) as Daphne would, without a server."""
import asyncio
import time

from django.test import Client

from exchange.api.signing import signature
from exchange.trading.entry_door import SignedOrderDoor

DOORS: list[SignedOrderDoor] = []  # closed after each test by tests/api/conftest.py
ORDER = {"market": "BTC-USD", "side": "buy", "price": "30000", "quantity": "0.01"}


def doors_close() -> None:
    """Give back the threads and database connections of every door a test opened."""
    while DOORS:
        DOORS.pop().close()


class LongWay:
    """The ASGI app behind the door: records what reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def through_door(door, method: str, path: str, body: bytes, headers: dict[str, str], query: bytes = b""):
    """One request through the ASGI door, as Daphne hands it over; (status, headers, body)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": query,
             "scheme": "http", "http_version": "1.1", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"content-type", headers.pop("content-type", "application/json").encode())]
             + [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    chunks = [body[i:i + 4096] for i in range(0, len(body), 4096)] or [b""]
    sent: list[dict] = []

    async def receive():
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    asyncio.run(door(scope, receive, send))
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, b"".join(m.get("body", b"") for m in sent[1:])


class Caller:
    """Signs requests for one key and sends each the short way and the long way."""

    def __init__(self, key: str, secret: str) -> None:
        self.key, self.secret = key, secret
        self.door = SignedOrderDoor(LongWay(), threads=1)
        self.client = Client()
        DOORS.append(self.door)

    def headers(self, method: str, path_with_query: str, body: bytes, **overrides) -> dict[str, str]:
        time.sleep(0.002)  # a fresh millisecond: the same signature twice is a replay
        timestamp = overrides.get("timestamp") or str(int(time.time() * 1000))
        return {"X-API-KEY": overrides.get("key", self.key), "X-API-TIMESTAMP": timestamp,
                "X-API-SIGNATURE": signature(overrides.get("secret", self.secret), timestamp, method, path_with_query, body)}

    def short(self, path: str, body: bytes, query: str = "", content_type: str = "application/json", **overrides):
        full = path + ("?" + query if query else "")
        headers = {**self.headers("POST", full, body, **overrides), "content-type": content_type}
        return through_door(self.door, "POST", path, body, headers, query.encode("latin1"))

    def long(self, path: str, body: bytes, query: str = "", content_type: str = "application/json", **overrides):
        full = path + ("?" + query if query else "")
        meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in self.headers("POST", full, body, **overrides).items()}
        return self.client.generic("POST", full, data=body, content_type=content_type, **meta)
