"""The multi-market socket ``/ws/stream/`` against a real matcher and the real Redis channel layer:
several markets and channels on one connection, each message tagged, each market's book chain
contiguous with its checksums; unsubscribing stops a market; bad requests are answered, never a
closed socket; the candles channel pushes the open candle and closes it once."""
import asyncio
import time
from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async

from tests.marketdata.conftest import all_applied, communicator, receive, rest_fetch

pytestmark = pytest.mark.django_db(transaction=True)

SYMBOLS = ("BTC-USD", "ETH-USD", "ETH-BTC")
# (price, quantity) of each market's crossing orders; the resting bid is one tick per round lower.
TRADES = {"BTC-USD": ("30000", "0.01", "0.01"), "ETH-USD": ("2000", "0.1", "0.01"), "ETH-BTC": ("0.05", "0.1", "0.00001")}


@pytest.fixture
def three_markets(market, assets):
    from exchange.markets.services import market_create

    market_create(base=assets["ETH"], quote=assets["USD"], tick_size="0.01", lot_size="0.0001", min_notional="1")
    market_create(base=assets["ETH"], quote=assets["BTC"], tick_size="0.00001", lot_size="0.001",
                  min_notional="0.0001")
    return SYMBOLS


@pytest.fixture
def pair(make_user):
    funds = {"USD": "1000000", "BTC": "100", "ETH": "1000"}
    return make_user("maker", **funds), make_user("taker", **funds)


def _orders(pair, symbols, round_: int) -> list[int]:
    """In each market: a bid resting below the trade price (a book change), then a sell and a buy
    that cross (a trade). Through the real entry service, from a thread of its own."""
    from decimal import Decimal

    from django.db import connection

    from exchange.trading.services import order_place

    maker, taker = pair
    placed = []
    try:
        for symbol in symbols:
            price, quantity, tick = TRADES[symbol]
            below = str(Decimal(price) - Decimal(tick) * (round_ + 1) * 10)
            placed.append(order_place(user=maker, market=symbol, side="buy", price=below, quantity=quantity).pk)
            placed.append(order_place(user=maker, market=symbol, side="sell", price=price, quantity=quantity).pk)
            placed.append(order_place(user=taker, market=symbol, side="buy", price=price, quantity=quantity).pk)
        return placed
    finally:
        connection.close()


def _settled(placed: list[int], symbols) -> dict[str, int] | None:
    """Each market's REST book sequence once every order has been applied, else None."""
    from django.db import connection

    try:
        if not all_applied(placed):
            return None
        return {symbol: rest_fetch(f"/api/v1/markets/{symbol}/depth")[1]["sequence"] for symbol in symbols}
    finally:
        connection.close()


async def _subscribe(comm, op: str, channels: list[str], markets: list[str], rid=None) -> dict:
    await comm.send_json_to({"op": op, "channels": channels, "markets": markets, "id": rid})
    answer = await receive(comm)
    assert answer["type"] == "ack", answer
    assert (answer["op"], answer["id"]) == (op, rid)
    return answer


class Followers:
    """Each market's local book (the example client's) and trades, from the tagged messages."""

    def __init__(self, example) -> None:
        self.example = example
        self.books: dict[str, object] = {}
        self.trades: dict[str, list[int]] = {}
        self.seen: list[dict] = []

    def handle(self, message: dict) -> None:
        self.seen.append(message)
        market, channel = message["market"], message["channel"]
        if message["type"] == "snapshot":
            assert channel == "book"
            book = self.books[market] = self.example.LocalBook()
            book.load(message["sequence"], message["bids"], message["asks"])
            assert book.checksum() == message["checksum"]
        elif message["type"] == "book":
            assert channel == "book"
            assert self.books[market].apply(message), message  # contiguous: prev_sequence is ours (else Gap)
            assert self.books[market].checksum() == message["checksum"]
        elif message["type"] == "trade":
            assert channel == "trades"
            assert message["trade_id"] == f"{market}:{message['sequence']}"
            self.trades.setdefault(market, []).append(message["sequence"])
        else:
            raise AssertionError(f"unexpected message {message}")

    async def until_settled(self, comm, placed: list[int], symbols) -> None:
        """Apply messages until every order is applied and each followed book is at the REST sequence."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while loop.time() < deadline:
            if await comm.receive_nothing(timeout=0.05, interval=0.01):
                heads = await sync_to_async(_settled, thread_sensitive=False)(placed, symbols)
                if heads and all(self.books[s].sequence == heads[s] for s in symbols):
                    return
                continue
            self.handle(await comm.receive_json_from())
        raise AssertionError(f"not settled: {[(s, self.books[s].sequence) for s in symbols]}")


def test_three_markets_two_channels_on_one_socket_then_unsubscribe_one(
        three_markets, pair, start_matcher, redis_url, example):
    start_matcher(*SYMBOLS)
    place = sync_to_async(_orders, thread_sensitive=False)
    fetch = sync_to_async(rest_fetch, thread_sensitive=False)

    async def scenario() -> Followers:
        comm = communicator("/ws/stream/")
        connected, _ = await comm.connect()
        assert connected
        ack = await _subscribe(comm, "subscribe", ["book", "trades"], list(SYMBOLS), rid="s1")
        assert ack["subscriptions"] == {s: ["book", "trades"] for s in sorted(SYMBOLS)}
        follow = Followers(example)
        for _ in SYMBOLS:
            follow.handle(await receive(comm))
        assert set(follow.books) == set(SYMBOLS)

        placed = []
        for round_ in range(3):
            placed += await place(pair, SYMBOLS, round_)
        await follow.until_settled(comm, placed, SYMBOLS)
        for symbol in SYMBOLS:
            assert len(follow.trades[symbol]) == 3, (symbol, follow.trades)
            _, depth = await fetch(f"/api/v1/markets/{symbol}/depth?levels=5000")
            assert follow.books[symbol].levels() == ([tuple(x) for x in depth["bids"]],
                                                      [tuple(x) for x in depth["asks"]])

        ack = await _subscribe(comm, "unsubscribe", ["book", "trades"], ["ETH-BTC"], rid=7)
        assert ack["subscriptions"] == {"BTC-USD": ["book", "trades"], "ETH-USD": ["book", "trades"]}
        seen_before = len(follow.seen)
        head_before = (await fetch("/api/v1/markets/ETH-BTC/depth"))[1]["sequence"]
        placed = []
        for round_ in range(3, 5):
            placed += await place(pair, SYMBOLS, round_)
        await follow.until_settled(comm, placed, ("BTC-USD", "ETH-USD"))
        while not await comm.receive_nothing(timeout=1.0):  # anything late would show here
            follow.handle(await comm.receive_json_from())
        after = follow.seen[seen_before:]
        assert after, "the other markets went on"
        assert {m["market"] for m in after} == {"BTC-USD", "ETH-USD"}
        assert (await fetch("/api/v1/markets/ETH-BTC/depth"))[1]["sequence"] > head_before  # it did trade
        assert len(follow.trades["BTC-USD"]) == len(follow.trades["ETH-USD"]) == 5
        await comm.disconnect()
        return follow

    follow = asyncio.run(scenario())
    assert {(m["market"], m["channel"]) for m in follow.seen} == {(s, c) for s in SYMBOLS for c in ("book", "trades")}


def test_bad_requests_are_answered_and_the_socket_stays_open(three_markets, redis_url, settings):
    settings.EXCHANGE_WS_MAX_SUBSCRIPTIONS = 5

    async def error(comm, **send) -> dict:
        await comm.send_to(**send)
        answer = await receive(comm)
        assert answer["type"] == "error", answer
        assert set(answer["error"]) == {"code", "message"}
        assert answer["error"]["message"]
        return answer

    async def scenario() -> list[tuple[str, object]]:
        comm = communicator("/ws/stream/")
        connected, _ = await comm.connect()
        assert connected
        ack = await _subscribe(comm, "subscribe", ["ticker"], ["btc-usd"])
        assert ack["subscriptions"] == {"BTC-USD": ["ticker"]}
        sub = '{{"op": "subscribe", "channels": {c}, "markets": {m}, "id": "x"}}'
        got = []
        for text in ("{not json", "[1, 2]", '"subscribe"', '{"op": "subscribe"}', '{"op": "join", "channels": ["book"]}',
                     sub.format(c='["book", "candles:2m"]', m='["BTC-USD"]'),
                     sub.format(c='["Book"]', m='["BTC-USD"]'),
                     sub.format(c='["book"]', m='["BTC-USD", "NOPE-USD"]'),
                     sub.format(c='["book"]', m='["x"]'),
                     sub.format(c='[]', m='["BTC-USD"]'),
                     sub.format(c='["book", 3]', m='["BTC-USD"]'),
                     sub.format(c='["book"]', m='"BTC-USD"'),
                     sub.format(c='["book", "trades"]', m='["BTC-USD", "ETH-USD", "ETH-BTC"]'),
                     '{"op": "unsubscribe", "channels": ["nope"], "markets": ["BTC-USD"]}'):
            answer = await error(comm, text_data=text)
            got.append((answer["error"]["code"], answer["id"]))
        # A binary frame that is not JSON either.
        got.append(((await error(comm, bytes_data=b"\xff\x00"))["error"]["code"], None))
        # Nothing changed by any of them, and the socket still works.
        await comm.send_json_to({"type": "ping"})
        assert await receive(comm) == {"type": "pong"}
        ack = await _subscribe(comm, "subscribe", ["trades", "candles:1m"], ["ETH-USD", "BTC-USD"])
        assert ack["subscriptions"] == {"BTC-USD": ["trades", "ticker", "candles:1m"],
                                        "ETH-USD": ["trades", "candles:1m"]}
        ack = await _subscribe(comm, "unsubscribe", ["ticker", "book"], ["BTC-USD", "SOL-USD"])
        assert ack["subscriptions"] == {"BTC-USD": ["trades", "candles:1m"], "ETH-USD": ["trades", "candles:1m"]}
        await comm.disconnect()
        return got

    got = asyncio.run(scenario())
    assert got == [
        ("malformed_json", None), ("malformed_request", None), ("malformed_request", None),
        ("malformed_request", None), ("unknown_op", None), ("unknown_channel", "x"), ("unknown_channel", "x"),
        ("unknown_market", "x"), ("unknown_market", "x"), ("malformed_request", "x"), ("malformed_request", "x"),
        ("malformed_request", "x"), ("too_many_subscriptions", "x"), ("unknown_channel", None),
        ("malformed_json", None),
    ]


def _wait_for_a_fresh_minute() -> None:
    """Start with at least 12 s left in the current minute, so the test's first trades share a
    bucket, and not in an hour's last minute, so the hour's candle stays open throughout."""
    now = datetime.now(UTC)
    if now.second >= 48 or now.minute == 59:
        time.sleep(60 - now.second - now.microsecond / 1e6 + 0.2)
    if datetime.now(UTC).minute == 59:
        time.sleep(60.2 - datetime.now(UTC).second)


def test_candles_channel_pushes_the_open_candle_and_closes_it_once(market, pair, start_matcher, redis_url):
    start_matcher("BTC-USD")
    maker, taker = pair

    def trade(price: str, quantity: str) -> None:
        from django.db import connection

        from exchange.trading.services import order_place

        try:
            order_place(user=maker, market="BTC-USD", side="sell", price=price, quantity=quantity)
            order_place(user=taker, market="BTC-USD", side="buy", price=price, quantity=quantity)
        finally:
            connection.close()

    async def warm_up() -> None:
        """The matcher spawns its fan-out process on its first publish (seconds on a busy
        machine): a resting bid's book message shows it is up before the clock matters."""
        book = communicator("/ws/stream/")
        await book.connect()
        await _subscribe(book, "subscribe", ["book"], ["BTC-USD"])
        assert (await receive(book))["type"] == "snapshot"
        await sync_to_async(bid, thread_sensitive=False)()
        assert (await receive(book, timeout=60))["type"] == "book"
        await book.disconnect()

    def bid() -> None:
        from django.db import connection

        from exchange.trading.services import order_place

        try:
            order_place(user=maker, market="BTC-USD", side="buy", price="29000", quantity="0.01")
        finally:
            connection.close()

    async def next_candle(comm, timeout: float = 10.0) -> dict:
        message = await receive(comm, timeout)
        assert message["type"] == "candle", message
        return message

    async def scenario() -> None:
        comm = communicator("/ws/stream/")
        connected, _ = await comm.connect()
        assert connected
        ack = await _subscribe(comm, "subscribe", ["candles:1m", "candles:1h"], ["BTC-USD"])
        assert ack["subscriptions"] == {"BTC-USD": ["candles:1m", "candles:1h"]}
        await warm_up()
        await sync_to_async(_wait_for_a_fresh_minute, thread_sensitive=False)()
        await sync_to_async(trade, thread_sensitive=False)("30000", "0.01")
        first = {m["interval"]: m for m in [await next_candle(comm), await next_candle(comm)]}
        assert set(first) == {"1m", "1h"}
        one = first["1m"]
        assert (one["market"], one["channel"], one["closed"]) == ("BTC-USD", "candles:1m", False)
        assert (one["open"], one["high"], one["low"], one["close"], one["volume"], one["quote_volume"],
                one["trades"]) == ("30000", "30000", "30000", "30000", "0.01", "300", 1)
        opened = datetime.fromisoformat(one["open_time"])
        assert opened.second == 0
        assert (datetime.fromisoformat(one["close_time"]) - opened).total_seconds() == 60
        assert first["1h"]["channel"] == "candles:1h"
        assert datetime.fromisoformat(first["1h"]["open_time"]).minute == 0

        await sync_to_async(trade, thread_sensitive=False)("30010", "0.02")
        second = {m["interval"]: m for m in [await next_candle(comm), await next_candle(comm)]}
        update = second["1m"]
        assert (update["open_time"], update["closed"]) == (one["open_time"], False)
        assert (update["open"], update["high"], update["low"], update["close"], update["volume"], update["trades"]) == (
            "30000", "30010", "30000", "30010", "0.03", 2)
        assert update["sequence"] > one["sequence"]
        _, rest = await sync_to_async(rest_fetch, thread_sensitive=False)("/api/v1/markets/BTC-USD/candles?interval=1m&limit=1")
        assert {k: rest[-1][k] for k in ("open", "high", "low", "close", "volume", "trades")} == {
            k: update[k] for k in ("open", "high", "low", "close", "volume", "trades")}

        # The minute ends: its candle is sent once, closed, with the same figures; the hour's is not.
        closed = await next_candle(comm, timeout=75)
        assert (closed["interval"], closed["open_time"], closed["closed"]) == ("1m", one["open_time"], True)
        assert {k: closed[k] for k in ("open", "high", "low", "close", "volume", "trades", "sequence")} == {
            k: update[k] for k in ("open", "high", "low", "close", "volume", "trades", "sequence")}
        await sync_to_async(trade, thread_sensitive=False)("29990", "0.01")
        later = []
        while not await comm.receive_nothing(timeout=1.5):
            later.append(await comm.receive_json_from())
        assert sorted((m["interval"], m["closed"]) for m in later) == [("1h", False), ("1m", False)], later
        fresh = next(m for m in later if m["interval"] == "1m")
        assert datetime.fromisoformat(fresh["open_time"]) > opened
        assert (fresh["open"], fresh["trades"]) == ("29990", 1)
        hour = next(m for m in later if m["interval"] == "1h")
        assert hour["open_time"] == first["1h"]["open_time"]  # the same hour: the trades add up
        assert (hour["trades"], hour["volume"], hour["low"], hour["closed"]) == (3, "0.04", "29990", False)
        await comm.disconnect()

    asyncio.run(scenario())
