"""REST market data basics, the WebSocket snapshot, and the book when Redis lost it."""
import asyncio
import zlib

import pytest

from tests.marketdata.conftest import communicator, receive, rest_fetch

pytestmark = pytest.mark.django_db(transaction=True)


def test_markets_depth_and_errors(market, redis_url):
    status, markets = rest_fetch("/api/v1/markets")
    assert status == 200
    assert markets[0]["symbol"] == "BTC-USD"
    assert (markets[0]["base"], markets[0]["quote"], markets[0]["tick_size"], markets[0]["lot_size"]) == (
        "BTC", "USD", "0.01", "0.0001")
    # No matcher has published yet: the book comes from PostgreSQL, empty at sequence 0.
    assert rest_fetch("/api/v1/markets/BTC-USD/depth") == (
        200, {"market": "BTC-USD", "sequence": 0, "bids": [], "asks": [], "checksum": zlib.crc32(b";")})
    for query, code in (("levels=0", "invalid_levels"), ("levels=x", "invalid_levels"), ("levels=99999", "invalid_levels")):
        status, body = rest_fetch(f"/api/v1/markets/BTC-USD/depth?{query}")
        assert (status, body["error"]["code"]) == (400, code)
    for path in ("depth", "trades", "ticker", "candles?interval=1m", "book-updates?after=0"):
        status, body = rest_fetch(f"/api/v1/markets/NOPE-USD/{path}")
        assert (status, body["error"]["code"]) == (404, "unknown_market"), path
    status, ticker = rest_fetch("/api/v1/markets/BTC-USD/ticker")
    assert (ticker["last"], ticker["open"], ticker["volume"], ticker["best_bid"]) == (None, None, "0", None)


def test_unknown_market_socket_is_closed(market, redis_url):
    async def scenario():
        comm = communicator("/ws/markets/NOPE-USD/")
        assert (await comm.connect())[0]
        error = await receive(comm)
        closed = await comm.receive_output(2)
        return error, closed

    error, closed = asyncio.run(scenario())
    assert error["code"] == "unknown_market"
    assert closed == {"type": "websocket.close", "code": 4404}


def test_book_survives_redis_losing_it(market, make_user, start_matcher, redis_url, wait, example):
    import redis

    from exchange.trading.services import order_place

    alice = make_user("alice", USD="100000", BTC="10")
    start_matcher("BTC-USD")
    for price in ("29000", "29000.5", "28999.99"):
        order_place(user=alice, market="BTC-USD", side="buy", price=price, quantity="0.1")
    order_place(user=alice, market="BTC-USD", side="sell", price="31000", quantity="0.25")
    wait(lambda: len(rest_fetch("/api/v1/markets/BTC-USD/depth")[1]["bids"]) == 3
         and rest_fetch("/api/v1/markets/BTC-USD/depth")[1]["asks"], message="the book")
    _, before = rest_fetch("/api/v1/markets/BTC-USD/depth")
    assert before["bids"] == [["29000.5", "0.1"], ["29000", "0.1"], ["28999.99", "0.1"]]

    async def snapshot():
        comm = communicator("/ws/markets/btc-usd/")
        await comm.connect()
        message = await receive(comm)
        await comm.disconnect()
        return message

    message = asyncio.run(snapshot())
    assert {k: message[k] for k in ("type", "market", "sequence", "bids", "asks", "checksum")} == {
        "type": "snapshot", **before}

    client = redis.Redis.from_url(redis_url)
    client.delete(*client.keys("md:BTC-USD:*"))
    # Redis lost the book: PostgreSQL answers with the same levels.
    _, fallback = rest_fetch("/api/v1/markets/BTC-USD/depth")
    assert (fallback["bids"], fallback["asks"], fallback["checksum"]) == (before["bids"], before["asks"],
                                                                          before["checksum"])
    # The next batch writes the whole book afresh; a client from before cannot gap-fill and
    # re-snapshots.
    order_place(user=alice, market="BTC-USD", side="sell", price="31000", quantity="0.05")
    wait(lambda: client.exists("md:BTC-USD:head"), message="the book rewritten")
    _, after = rest_fetch("/api/v1/markets/BTC-USD/depth")
    assert after["asks"] == [["31000", "0.3"]]
    assert after["bids"] == before["bids"]
    status, body = rest_fetch(f"/api/v1/markets/BTC-USD/book-updates?after={before['sequence']}")
    assert (status, body["error"]["code"]) == (410, "resnapshot_required")
    follower = example.BookFollower("BTC-USD", rest_fetch)
    follower.book.load(before["sequence"], before["bids"], before["asks"])
    follower.repair()
    assert follower.stats["resnapshots"] == 1
    assert follower.book.checksum() == after["checksum"]


def test_a_matcher_idle_on_an_empty_market_then_publishes_its_first_order(market, make_user, start_matcher, redis_url,
                                                                          wait):
    """An idle matcher stores the (empty) book it rebuilt; the first order then arrives as a
    book message chained to it, in the Redis book and in the gap-fill window."""
    import redis

    from exchange.trading.services import order_place

    client = redis.Redis.from_url(redis_url)
    start_matcher("BTC-USD")
    wait(lambda: client.get("md:BTC-USD:head") == b"0", message="the idle matcher to store the empty book")
    alice = make_user("alice", USD="100000")
    order_place(user=alice, market="BTC-USD", side="buy", price="29000", quantity="0.1")
    wait(lambda: rest_fetch("/api/v1/markets/BTC-USD/depth")[1]["bids"] == [["29000", "0.1"]], message="the bid")
    status, body = rest_fetch("/api/v1/markets/BTC-USD/book-updates?after=0")
    assert status == 200
    assert [(m["prev_sequence"], m["changes"]) for m in body["updates"]] == [(0, [["buy", "29000", "0.1"]])]
