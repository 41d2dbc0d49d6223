"""Writes of the market data: candles.

``candles_upsert`` runs inside the matcher's batch transaction (the matcher's sink, ``sink.py``,
with the columns ``candle_columns`` built when the batch was planned), so the candles commit or
roll back with the fills they count: they are right across crashes and restarts without any
catch-up job. ``candles_rebuild`` recomputes a market's
candles from its fills (for fills recorded before this app existed).
"""
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection, transaction

from exchange.marketdata.models import INTERVALS, Candle
from exchange.markets.models import Market


def bucket_start(ts: datetime, seconds: int) -> datetime:
    epoch = int(ts.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def _aggregate(trades) -> dict[tuple[str, datetime], list]:
    """(interval, open_time) -> [open, high, low, close, volume, quote volume, count, first seq, last seq]
    for trades given as (sequence, price, quantity, ts) in sequence order.

    Buckets are keyed by integer epoch seconds and turned into datetimes once each at the end:
    this runs in the matcher's batch, once per trade and interval."""
    rows: dict[tuple[str, int], list] = {}
    intervals = list(INTERVALS.items())
    last_ts, epoch = None, 0
    for sequence, price, quantity, ts in trades:
        if ts is not last_ts:
            last_ts, epoch = ts, int(ts.timestamp())
        notional = price * quantity
        for name, seconds in intervals:
            key = (name, epoch - epoch % seconds)
            row = rows.get(key)
            if row is None:
                rows[key] = [price, price, price, price, quantity, notional, 1, sequence, sequence]
                continue
            if price > row[1]:
                row[1] = price
            if price < row[2]:
                row[2] = price
            row[3] = price
            row[4] += quantity
            row[5] += notional
            row[6] += 1
            row[8] = sequence
    return {(name, datetime.fromtimestamp(start, tz=UTC)): row for (name, start), row in rows.items()}


_UPSERT = """
INSERT INTO marketdata_candle (market_id, interval, open_time, open, high, low, close, volume, quote_volume,
                               trade_count, first_sequence, last_sequence)
SELECT %s, v.* FROM unnest(%s::text[], %s::timestamptz[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[],
                           %s::numeric[], %s::numeric[], %s::int[], %s::bigint[], %s::bigint[])
    AS v(interval, open_time, open, high, low, close, volume, quote_volume, trade_count, first_sequence, last_sequence)
ON CONFLICT (market_id, interval, open_time) DO UPDATE SET
    open = CASE WHEN EXCLUDED.first_sequence < marketdata_candle.first_sequence
                THEN EXCLUDED.open ELSE marketdata_candle.open END,
    close = CASE WHEN EXCLUDED.last_sequence > marketdata_candle.last_sequence
                 THEN EXCLUDED.close ELSE marketdata_candle.close END,
    high = GREATEST(marketdata_candle.high, EXCLUDED.high),
    low = LEAST(marketdata_candle.low, EXCLUDED.low),
    volume = marketdata_candle.volume + EXCLUDED.volume,
    quote_volume = marketdata_candle.quote_volume + EXCLUDED.quote_volume,
    trade_count = marketdata_candle.trade_count + EXCLUDED.trade_count,
    first_sequence = LEAST(marketdata_candle.first_sequence, EXCLUDED.first_sequence),
    last_sequence = GREATEST(marketdata_candle.last_sequence, EXCLUDED.last_sequence)
"""


def candle_columns(trades: list[tuple[int, Decimal, Decimal, datetime]]) -> list[list]:
    """Trades, as (sequence, price, quantity, ts) in sequence order, folded into the columns of
    ``candles_upsert``: one row per interval and bucket they touch."""
    rows = _aggregate(trades)
    return [list(c) for c in zip(*[(name, start, *values) for (name, start), values in rows.items()], strict=True)]


def candles_upsert(*, market_id: int, columns: list[list]) -> None:
    """Merge ``candle_columns`` into the stored candles: one statement. The caller holds the
    transaction that records the trades (the matcher's batch), so candles and fills commit or
    roll back together."""
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [market_id, *columns])


def candles_add_trades(*, market_id: int, trades: list[tuple[int, Decimal, Decimal, datetime]]) -> None:
    """Fold trades, as (sequence, price, quantity, ts) in sequence order, into every interval's
    candles. The caller holds the transaction that records the trades."""
    if trades:
        candles_upsert(market_id=market_id, columns=candle_columns(trades))


@transaction.atomic
def candles_rebuild(*, market: Market, chunk: int = 10_000) -> int:
    """Recompute every candle of ``market`` from its fills; returns the number of fills read."""
    from exchange.trading.models import Fill

    Candle.objects.filter(market=market).delete()
    count = 0
    last = -1
    while True:
        batch = list(Fill.objects.filter(market=market, sequence__gt=last).order_by("sequence")
                     .values_list("sequence", "price", "quantity", "created_at")[:chunk])
        if not batch:
            return count
        candles_add_trades(market_id=market.pk, trades=batch)
        count += len(batch)
        last = batch[-1][0]
