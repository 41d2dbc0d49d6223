"""Candles and tickers, kept incrementally, equal a direct recomputation from the fills."""
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.marketdata import recompute

T0 = datetime(2026, 3, 1, tzinfo=UTC)

trade = st.tuples(st.integers(1, 5000), st.integers(1, 2000), st.integers(0, 3 * 86_400))
scenario = st.fixed_dictionaries({
    "trades": st.lists(trade, min_size=0, max_size=60),
    "cuts": st.lists(st.integers(0, 60), max_size=8),
    "shift": st.integers(0, 86_399),
    "now_after": st.integers(0, 2 * 86_400),
    "interval": st.sampled_from(list(recompute.INTERVALS)),
})


@pytest.fixture
def two_orders(market, make_user):
    from exchange.trading.models import Order

    buyer, seller = make_user("buyer"), make_user("seller")
    common = {"market": market, "order_type": "limit", "hold_asset": market.quote, "hold_amount": 0,
              "hold_remaining": 0, "status": "filled"}
    return Order.objects.create(user=buyer, side="buy", **common), Order.objects.create(user=seller, side="sell", **common)


def _insert(market, orders, rows) -> None:
    from exchange.trading.models import Fill

    buy, sell = orders
    Fill.objects.bulk_create([
        Fill(market=market, sequence=seq, price=price, quantity=quantity, buy_order=buy, sell_order=sell,
             buyer_id=buy.user_id, seller_id=sell.user_id, aggressor="buy", buyer_fee=0, seller_fee=0, created_at=ts)
        for seq, price, quantity, ts in rows
    ])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=scenario)
def test_candles_and_ticker_match_a_recomputation_from_the_fills(db, market, two_orders, redis_url, case):
    from exchange.marketdata.models import Candle
    from exchange.marketdata.selectors import candle_list, ticker_get
    from exchange.marketdata.services import candles_add_trades, candles_rebuild
    from exchange.trading.models import Fill

    Candle.objects.all().delete()
    Fill.objects.all().delete()
    # Sequence order is the matcher's; times are not monotonic in it (a relayed command keeps
    # its entry time), and the bucket grid is shifted from one example to the next.
    rows = [(i + 1, Decimal(p) / 100, Decimal(q) / 10_000, T0 + timedelta(seconds=case["shift"] + s))
            for i, (p, q, s) in enumerate(case["trades"])]
    _insert(market, two_orders, rows)
    cuts = sorted({0, len(rows), *[c for c in case["cuts"] if c <= len(rows)]})
    for a, b in itertools.pairwise(cuts):  # one matcher batch per slice
        candles_add_trades(market_id=market.pk, trades=rows[a:b])

    trades = recompute.fills(market)
    for interval in recompute.INTERVALS:
        assert recompute.stored_candles(market, interval) == recompute.candles(trades, interval), interval

    # The API's series: every bucket from the first trade's to the last, empty ones flat at the
    # previous close with no volume.
    interval = case["interval"]
    expected = recompute.candles(trades, interval)
    if expected:
        first, last = min(expected), max(expected)
        series = candle_list(market=market, interval=interval, start=first, end=last, limit=1500)
        step = timedelta(seconds=recompute.INTERVALS[interval])
        if (last - first) / step < 1500:
            assert series[0]["open_time"] == first
            assert series[-1]["open_time"] == last
        previous = None
        for candle in series:
            got = {k: candle[k] for k in ("open", "high", "low", "close", "volume", "quote_volume", "trades")}
            if candle["open_time"] in expected:
                assert got == expected[candle["open_time"]]
            else:
                assert got == {"open": previous, "high": previous, "low": previous, "close": previous,
                               "volume": 0, "quote_volume": 0, "trades": 0}
            previous = candle["close"]
        assert [c["open_time"] for c in series] == [series[0]["open_time"] + step * i for i in range(len(series))]

    latest = max((r[3] for r in rows), default=T0)
    now = latest + timedelta(seconds=case["now_after"])
    got = ticker_get(market=market, now=now)
    want = recompute.ticker(trades, now)
    assert {k: got[k] for k in want} == want

    # A rebuild from the fills gives the same candles as the increments.
    before = {i: recompute.stored_candles(market, i) for i in recompute.INTERVALS}
    candles_rebuild(market=market, chunk=7)
    assert {i: recompute.stored_candles(market, i) for i in recompute.INTERVALS} == before


def test_candles_api_fills_gaps_and_validates(db, market, two_orders, redis_url, client):
    from exchange.marketdata.services import candles_add_trades

    rows = [(1, Decimal("100"), Decimal("1"), T0 + timedelta(seconds=30)),
            (2, Decimal("102"), Decimal("2"), T0 + timedelta(seconds=50)),
            (3, Decimal("99"), Decimal("1"), T0 + timedelta(minutes=3, seconds=5))]
    _insert(market, two_orders, rows)
    candles_add_trades(market_id=market.pk, trades=rows)
    response = client.get("/api/v1/markets/btc-usd/candles", {"interval": "1m", "start": T0.isoformat(),
                                                                "end": (T0 + timedelta(minutes=4)).isoformat()})
    assert response.status_code == 200
    body = response.json()
    assert [(c["open"], c["high"], c["low"], c["close"], c["volume"], c["trades"]) for c in body] == [
        ("100", "102", "100", "102", "3", 2), ("102", "102", "102", "102", "0", 0), ("102", "102", "102", "102", "0", 0),
        ("99", "99", "99", "99", "1", 1), ("99", "99", "99", "99", "0", 0)]
    assert body[0]["open_time"].startswith("2026-03-01T00:00:00")
    for params, code in (({"interval": "2m"}, "invalid_interval"), ({}, "invalid_interval"),
                         ({"interval": "1m", "limit": "0"}, "invalid_limit")):
        response = client.get("/api/v1/markets/BTC-USD/candles", params)
        assert (response.status_code, response.json()["error"]["code"]) == (400, code)
    assert client.get("/api/v1/markets/NOPE-USD/candles", {"interval": "1m"}).json()["error"]["code"] == "unknown_market"
