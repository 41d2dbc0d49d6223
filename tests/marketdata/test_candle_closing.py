"""The candles channel's closing rule (``candlefeed.OpenCandles``), with the clock in the test's
hands: an open candle is sent as trades change it, closed once when its bucket ends (after the
grace) or when a trade lands in a later bucket, and a late trade re-sends a closed candle."""
from datetime import UTC, datetime, timedelta

from exchange.marketdata.candlefeed import OpenCandles

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)  # a bucket start for every interval
E0 = int(T0.timestamp())


def one_minute(sent, market: str = "BTC-USD"):
    return [(start - E0, closed) for symbol, _, interval, start, closed in sent if interval == "1m" and symbol == market]


def test_open_then_closed_once_after_the_grace():
    candles = OpenCandles(grace=2)
    sent = candles.traded("BTC-USD", 1, [T0 + timedelta(seconds=5)], now=E0 + 5.1)
    assert {(i, c) for _, _, i, _, c in sent} == {(i, False) for i in ("1m", "5m", "15m", "1h", "4h", "1d")}
    assert one_minute(candles.traded("BTC-USD", 1, [T0 + timedelta(seconds=30)], now=E0 + 30)) == [(0, False)]
    assert candles.due(E0 + 61.9) == []  # the grace: a trade entered at 0:59.9 may still be matched
    assert one_minute(candles.due(E0 + 62)) == [(0, True)]
    assert candles.due(E0 + 63) == []  # once
    assert one_minute(candles.due(E0 + 302)) == []  # the 5 m candle closes, not the minute again
    assert [i for _, _, i, _, _ in candles.due(E0 + 3602)] == ["15m", "1h"]


def test_a_trade_in_the_next_bucket_closes_the_previous_at_once():
    candles = OpenCandles(grace=2)
    candles.traded("BTC-USD", 1, [T0 + timedelta(seconds=50)], now=E0 + 50)
    sent = candles.traded("BTC-USD", 1, [T0 + timedelta(seconds=60.5)], now=E0 + 60.6)
    assert one_minute(sent) == [(0, True), (60, False)]
    assert one_minute(candles.due(E0 + 62.5)) == []  # already sent closed
    assert one_minute(candles.due(E0 + 122)) == [(60, True)]


def test_trades_over_several_buckets_in_one_turn_and_a_late_trade():
    candles = OpenCandles(grace=2)
    times = [T0 + timedelta(seconds=s) for s in (10, 70, 200)]
    assert one_minute(candles.traded("BTC-USD", 1, times, now=E0 + 200.5)) == [(0, True), (60, True), (180, False)]
    # A relayed command keeps its entry time: its trade changes a closed candle, which is sent again.
    assert one_minute(candles.traded("BTC-USD", 1, [T0 + timedelta(seconds=20)], now=E0 + 210)) == [(0, True)]
    assert candles.open[("BTC-USD", "1m")] == (1, E0 + 180)
    # Trades long past (a relay after hours): everything they touch is closed, nothing stays open.
    late = OpenCandles(grace=2)
    sent = late.traded("ETH-USD", 2, [T0], now=E0 + 7200)
    assert one_minute(sent, "ETH-USD") == [(0, True)]
    assert {i for _, _, i, _, closed in sent if not closed} == {"4h", "1d"}
    assert all(closed for *_, closed in late.traded("ETH-USD", 2, [T0], now=E0 + 7200 * 24))
    assert late.open == {}


def test_markets_are_independent():
    candles = OpenCandles(grace=2)
    candles.traded("BTC-USD", 1, [T0 + timedelta(seconds=5)], now=E0 + 5)
    sent = candles.traded("ETH-USD", 2, [T0 + timedelta(seconds=65)], now=E0 + 65)
    assert {symbol for symbol, *_ in sent} == {"ETH-USD"}
    assert one_minute(candles.due(E0 + 62)) == [(0, True)]
