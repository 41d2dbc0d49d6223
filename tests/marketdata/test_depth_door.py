"""The public depth takes the short way (``BookDepthDoor``, exchange/marketdata/depth_door.py,
on the event loop) and answers exactly as the long way (Django's whole request cycle) does;
whatever the short way cannot answer exactly goes the long way."""
import asyncio

import orjson
import pytest
from django.test import Client

from exchange.infra.redis_clients import redis_client
from exchange.marketdata.bookstore import BookStore
from exchange.marketdata.depth_door import BookDepthDoor
from tests.api.door import LongWay, through_door

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def book(market, redis_url):
    """BTC-USD's book in Redis as the matcher writes it: 40 bids and 40 asks at sequence 77."""
    bids = [("buy", f"{30000 - i}.5", f"0.{i + 1:04d}", 3000050 - i * 100) for i in range(40)]
    asks = [("sell", f"{30001 + i}", f"1.{i:02d}", 3000100 + i * 100) for i in range(40)]
    applied, _ = BookStore(redis_client()).write("BTC-USD", mode="reset", expected_head=None, head=77, message=None,
                                                 changes=bids + asks)
    assert applied
    return market


def _short(path: str, query: bytes = b"", headers: dict[str, str] | None = None):
    door = BookDepthDoor(LongWay())
    status, response_headers, body = through_door(door, "GET", path, b"", dict(headers or {}), query)
    return door.app.paths == [], status, response_headers, body


def _long(path: str, query: str = "", headers: dict[str, str] | None = None):
    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (headers or {}).items()}
    return Client().get(path + ("?" + query if query else ""), **meta)


SHORT = {
    "no query (100 levels)": ("BTC-USD", ""),
    "one level": ("BTC-USD", "levels=1"),
    "fewer levels than the checksum's": ("BTC-USD", "levels=10"),
    "more levels than the book has": ("BTC-USD", "levels=5000"),
    "a lower-case symbol": ("btc-usd", "levels=30"),
}
LONG = {
    "levels 0": ("BTC-USD", "levels=0", {}),
    "levels over the maximum": ("BTC-USD", "levels=5001", {}),
    "levels not a number": ("BTC-USD", "levels=abc", {}),
    "another parameter too": ("BTC-USD", "levels=5&format=json", {}),
    "a query that is not UTF-8": ("BTC-USD", "levels=\xff", {}),
    "an unknown market": ("NOPE-USD", "", {}),
    "a market without a book in Redis": ("ETH-USD", "", {}),
    "an HTML Accept": ("BTC-USD", "", {"accept": "text/html"}),
}


@pytest.mark.parametrize("case", list(SHORT))
def test_the_short_way_answers_as_the_long_way(case, book):
    symbol, query = SHORT[case]
    path = f"/api/v1/markets/{symbol}/depth"
    answered, status, headers, body = _short(path, query.encode())
    long = _long(path, query)
    assert answered
    assert (status, orjson.loads(body)) == (long.status_code, long.json())
    for name in ("content-type", "allow", "x-frame-options", "x-content-type-options", "referrer-policy",
                 "cross-origin-opener-policy"):
        assert headers[name] == long[name], name
    assert int(headers["content-length"]) == len(body)


def test_the_book_it_gives_is_the_stored_book_at_its_sequence(book):
    _, status, _, body = _short("/api/v1/markets/BTC-USD/depth", b"levels=3")
    depth = orjson.loads(body)
    assert status == 200
    assert depth["sequence"] == 77
    assert depth["bids"] == [["30000.5", "0.0001"], ["29999.5", "0.0002"], ["29998.5", "0.0003"]]
    assert depth["asks"] == [["30001", "1.00"], ["30002", "1.01"], ["30003", "1.02"]]


@pytest.mark.parametrize("case", list(LONG))
def test_what_it_cannot_answer_exactly_goes_the_long_way(case, book, eth_market):
    symbol, query, headers = LONG[case]
    answered, *_ = _short(f"/api/v1/markets/{symbol}/depth", query.encode("latin1"), headers)
    assert not answered


def test_redis_unreachable_goes_the_long_way(book, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    answered, *_ = _short("/api/v1/markets/BTC-USD/depth")
    assert not answered


def test_other_requests_go_the_long_way(book):
    door = BookDepthDoor(LongWay())
    for method, path in (("GET", "/api/v1/markets/BTC-USD/trades"), ("HEAD", "/api/v1/markets/BTC-USD/depth"),
                         ("POST", "/api/v1/markets/BTC-USD/depth"), ("GET", "/api/v1/markets")):
        through_door(door, method, path, b"", {})
    assert door.app.paths == ["/api/v1/markets/BTC-USD/trades", "/api/v1/markets/BTC-USD/depth",
                              "/api/v1/markets/BTC-USD/depth", "/api/v1/markets"]


def test_the_address_limit_counts_both_ways_alike(book, settings):
    settings.EXCHANGE_RATE_LIMITS = {**settings.EXCHANGE_RATE_LIMITS, "ip": (3, 60)}
    door = BookDepthDoor(LongWay())
    path = "/api/v1/markets/BTC-USD/depth"
    assert [through_door(door, "GET", path, b"", {})[0] for _ in range(2)] == [200, 200]
    assert _long(path).status_code == 200  # the third request of the address, the long way
    status, headers, body = through_door(door, "GET", path, b"", {})
    long = _long(path)
    assert (status, long.status_code) == (429, 429)
    assert orjson.loads(body) == long.json() == {
        "error": {"code": "rate_limited", "message": "too many requests from this address"}}
    assert 1 <= int(headers["retry-after"]) <= 61
    assert door.app.paths == []


def test_the_event_loop_is_not_blocked_while_it_reads(book):
    """The read goes through an asyncio client: other work on the loop runs meanwhile."""
    door = BookDepthDoor(LongWay())
    ticks = 0

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    async def scenario() -> list[int]:
        stop = asyncio.Event()
        task = asyncio.create_task(ticker(stop))
        statuses = []
        for _ in range(20):
            sent: list[dict] = []

            async def receive():
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message, sent=sent):
                sent.append(message)

            scope = {"type": "http", "method": "GET", "path": "/api/v1/markets/BTC-USD/depth", "query_string": b"",
                     "root_path": "", "scheme": "http", "client": ("127.0.0.1", 5), "server": ("testserver", 80),
                     "headers": [(b"host", b"testserver")]}
            await door(scope, receive, send)
            statuses.append(sent[0]["status"])
        stop.set()
        await task
        return statuses

    assert asyncio.run(scenario()) == [200] * 20
    assert ticks >= 20  # the loop ran the ticker while each request waited for Redis
