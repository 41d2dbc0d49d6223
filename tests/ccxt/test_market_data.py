"""The driver's public methods against a live venue: markets with ccxt's precision and limits,
the venue's clock, and the ticker, book, trades and candles after a real trade; and the
caller's own fills (fee, fee currency, maker/taker) through ``fetch_my_trades``."""
import time

import pytest
from ccxt.base.decimal_to_precision import TICK_SIZE

from tests.ccxt.conftest import D, wait_status

pytestmark = pytest.mark.django_db(transaction=True)


def test_markets_carry_the_rules_as_ccxt_precision_and_limits(make_user, venue_for):
    venue = venue_for(make_user("reader"))
    markets = venue.load_markets()
    assert list(markets) == ["BTC/USD"]
    btc = markets["BTC/USD"]
    assert (btc["id"], btc["base"], btc["quote"], btc["type"], btc["spot"], btc["active"]) == (
        "BTC-USD", "BTC", "USD", "spot", True, True)
    assert venue.precisionMode == TICK_SIZE
    # TICK_SIZE mode: the precision *is* the tick and the lot, not a count of decimals.
    assert (D(btc["precision"]["price"]), D(btc["precision"]["amount"])) == (D("0.01"), D("0.0001"))
    assert (D(btc["limits"]["amount"]["min"]), D(btc["limits"]["amount"]["max"])) == (D("0.0001"), D("100"))
    assert D(btc["limits"]["cost"]["min"]) == D("10")
    assert (D(btc["maker"]), D(btc["taker"])) == (D("0.001"), D("0.002"))
    assert venue.market_id("BTC/USD") == "BTC-USD"


def test_fetch_time_is_the_venue_clock(make_user, venue_for):
    venue = venue_for(make_user("reader"))
    before = int(time.time() * 1000)
    server = venue.fetch_time()
    after = int(time.time() * 1000)
    assert isinstance(server, int)
    assert before - 1000 <= server <= after + 1000  # same machine: the clocks agree
    # ccxt's clock sync uses it: the offset is small and the signed requests keep working.
    venue.options["adjustForTimeDifference"] = True
    assert abs(venue.load_time_difference()) < 1000
    assert venue.fetch_balance()["info"] is not None


def test_ticker_book_trades_candles_and_my_trades_after_a_trade(make_user, venue_for):
    maker = venue_for(make_user("maker", BTC="2"))
    taker = venue_for(make_user("taker", USD="100000"))
    resting = maker.create_order("BTC/USD", "limit", "sell", 0.5, 30000.0)
    deeper = maker.create_order("BTC/USD", "limit", "sell", 0.25, 30010.5)
    bid = taker.create_order("BTC/USD", "limit", "buy", 0.1, 29990.0)
    for order in (resting, deeper, bid):
        wait_status(maker if order is not bid else taker, order["id"], "open")

    book = taker.fetch_order_book("BTC/USD")
    assert book["symbol"] == "BTC/USD"
    assert [[D(p), D(q)] for p, q in book["asks"]] == [[D("30000"), D("0.5")], [D("30010.5"), D("0.25")]]
    assert [[D(p), D(q)] for p, q in book["bids"]] == [[D("29990"), D("0.1")]]
    assert isinstance(book["nonce"], int)  # the venue's sequence
    assert len(taker.fetch_order_book("BTC/USD", limit=1)["asks"]) == 1

    since = taker.milliseconds() - 1000
    take = taker.create_order("BTC/USD", "limit", "buy", 0.2, 30000.0)
    filled = wait_status(taker, take["id"], "filled")
    assert filled["status"] == "closed"
    assert (D(filled["filled"]), D(filled["remaining"]), D(filled["cost"]), D(filled["average"])) == (
        D("0.2"), D("0"), D("6000"), D("30000"))

    trades = taker.fetch_trades("BTC/USD")
    assert len(trades) == 1
    trade = trades[0]
    assert (trade["symbol"], trade["side"], D(trade["price"]), D(trade["amount"]), D(trade["cost"])) == (
        "BTC/USD", "buy", D("30000"), D("0.2"), D("6000"))
    assert trade["timestamp"] >= since
    assert taker.fetch_trades("BTC/USD", since=trade["timestamp"] + 1) == []  # none since

    ticker = taker.fetch_ticker("BTC/USD")
    assert ticker["symbol"] == "BTC/USD"
    assert (D(ticker["last"]), D(ticker["bid"]), D(ticker["ask"]), D(ticker["baseVolume"]), D(ticker["quoteVolume"])) == (
        D("30000"), D("29990"), D("30000"), D("0.2"), D("6000"))
    assert isinstance(ticker["timestamp"], int)
    tickers = taker.fetch_tickers()
    assert list(tickers) == ["BTC/USD"]
    assert D(tickers["BTC/USD"]["last"]) == D("30000")
    assert list(taker.fetch_tickers(["BTC/USD"])) == ["BTC/USD"]

    candles = taker.fetch_ohlcv("BTC/USD", "1m")
    assert candles, "a candle for the minute of the trade"
    opened, o, h, low, c, v = candles[-1]
    assert opened % 60_000 == 0
    assert opened <= trade["timestamp"] < opened + 60_000
    assert [D(x) for x in (o, h, low, c, v)] == [D("30000"), D("30000"), D("30000"), D("30000"), D("0.2")]
    assert taker.fetch_ohlcv("BTC/USD", "1h", since=opened - 3_600_000)[-1][0] <= opened

    mine = taker.fetch_my_trades("BTC/USD")
    assert len(mine) == 1
    fill = mine[0]
    assert (fill["order"], fill["side"], fill["takerOrMaker"], D(fill["price"]), D(fill["amount"])) == (
        take["id"], "buy", "taker", D("30000"), D("0.2"))
    # The buyer's fee is charged in what it receives (BTC): 0.2 x 0.2% taker fee.
    assert (D(fill["fee"]["cost"]), fill["fee"]["currency"]) == (D("0.0004"), "BTC")
    theirs = maker.fetch_my_trades()
    assert [(t["side"], t["takerOrMaker"], t["fee"]["currency"], D(t["fee"]["cost"])) for t in theirs] == [
        ("sell", "maker", "USD", D("6"))]  # 6000 USD x 0.1% maker fee
    assert maker.fetch_my_trades("BTC/USD", since=fill["timestamp"] + 1) == []
    assert len(maker.fetch_my_trades(limit=1)) == 1
