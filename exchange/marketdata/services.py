"""Writes of the market data: candles.

``candles_record`` runs inside the matcher's batch transaction (called at the end of
``write_plan``), so the candles commit or roll back with the fills they count: they are right
across crashes and restarts without any catch-up job. ``candles_rebuild`` recomputes a market's
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
    for trades given as (sequence, price, quantity, ts) in sequence order."""
    rows: dict[tuple[str, datetime], list] = {}
    for sequence, price, quantity, ts in trades:
        notional = price * quantity
        for name, seconds in INTERVALS.items():
            key = (name, bucket_start(ts, seconds))
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
    return rows


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


def candles_add_trades(*, market_id: int, trades: list[tuple[int, Decimal, Decimal, datetime]]) -> None:
    """Fold trades, as (sequence, price, quantity, ts) in sequence order, into every interval's
    candles: one statement. The caller holds the transaction that records the trades."""
    if not trades:
        return
    rows = _aggregate(trades)
    columns = list(zip(*[(name, start, *values) for (name, start), values in rows.items()], strict=True))
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [market_id, *[list(c) for c in columns]])


def candles_record(ctx, plan) -> None:
    """The batch's fills into the candles; called at the end of the matcher's ``write_plan``."""
    if plan.fills:
        # A planned fill is (sequence, price, quantity, ..., created_at) (see matcher.apply).
        candles_add_trades(market_id=ctx.market_id, trades=[(f[0], f[1], f[2], f[-1]) for f in plan.fills])


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
