"""Reads of the market data: the book (Redis, as the matcher left it), trades, candles, tickers."""
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

from django.db import connection
from django.utils import timezone

from exchange.errors import ExchangeError
from exchange.infra.redis_clients import redis_client
from exchange.marketdata.bookstore import BookStore
from exchange.marketdata.checksum import CHECKSUM_LEVELS, book_checksum, decimal_text
from exchange.marketdata.models import INTERVALS, Candle
from exchange.markets.models import Market

MAX_LEVELS = 5000
TICKER_MINUTES = 1440


@lru_cache(maxsize=4)
def _store(client) -> BookStore:
    return BookStore(client)


def book_store() -> BookStore:
    return _store(redis_client())


def market_list() -> list[Market]:
    return list(Market.objects.select_related("base", "quote").order_by("symbol"))


# ---------------------------------------------------------------- the book


@dataclass
class BookSnapshot:
    sequence: int
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]
    checksum: int


def _book_from_database(market: Market, levels: int) -> BookSnapshot:
    """The book from the open orders, at the committed sequence, in one statement: used only
    when Redis holds no book for the market (before its first publish, or after Redis lost it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT (SELECT last_sequence FROM trading_matcherstate WHERE market_id = %s), o.side, o.engine_price,
                      sum(o.open_quantity)
               FROM (SELECT 1) one
               LEFT JOIN trading_order o ON o.market_id = %s AND o.status = 'open' AND NOT o.is_waiting_stop
                                        AND o.engine_price IS NOT NULL
               GROUP BY o.side, o.engine_price""",
            [market.pk, market.pk],
        )
        rows = cursor.fetchall()
    sequence = (rows[0][0] if rows else None) or 0
    bids = sorted(((p, q) for _, side, p, q in rows if side == "buy" and q), key=lambda r: -r[0])
    asks = sorted(((p, q) for _, side, p, q in rows if side == "sell" and q), key=lambda r: r[0])
    bids_text = [(decimal_text(p), decimal_text(q)) for p, q in bids]
    asks_text = [(decimal_text(p), decimal_text(q)) for p, q in asks]
    checksum = book_checksum(bids_text, asks_text)
    if levels:
        bids_text, asks_text = bids_text[:levels], asks_text[:levels]
    return BookSnapshot(sequence, bids_text, asks_text, checksum)


def book_snapshot(*, market: Market, levels: int = 0) -> BookSnapshot:
    """The book at one sequence: ``levels`` per side (0: all), with the top-25 checksum."""
    head, bids, asks = book_store().snapshot(market.symbol, levels_to_read(levels))
    if head is None:
        return _book_from_database(market, levels)
    return snapshot_of(head, bids, asks, levels)


def levels_to_read(levels: int) -> int:
    """How many levels per side to read for a snapshot of ``levels`` (0: all): at least the
    checksum's."""
    return levels if levels >= CHECKSUM_LEVELS or levels == 0 else CHECKSUM_LEVELS


def snapshot_of(head: int, bids: list, asks: list, levels: int) -> BookSnapshot:
    """The snapshot of ``levels`` per side (0: all) from the levels read, with its checksum."""
    checksum = book_checksum(bids, asks)
    if levels:
        bids, asks = bids[:levels], asks[:levels]
    return BookSnapshot(head, bids, asks, checksum)


def book_updates_after(*, market: Market, after: int) -> tuple[int, list[dict]]:
    """The book messages after sequence ``after``, provided they chain from it without a hole
    (each message's ``prev_sequence`` is the previous one's ``sequence``). Otherwise the caller
    must re-snapshot: ``resnapshot_required`` (410)."""
    head, messages = book_store().updates_after(market.symbol, after)
    if head is None:
        raise ExchangeError("resnapshot_required", "no recent book updates are kept for this market: re-snapshot",
                            status=410)
    if after == head:
        return head, []
    expected = after
    for message in messages:
        if message["prev_sequence"] != expected:
            break
        expected = message["sequence"]
    else:
        if after < head and messages and expected == head:
            return head, messages
    raise ExchangeError(
        "resnapshot_required",
        f"sequence {after} is outside the gap-fill window (the book is at {head}): re-snapshot", status=410,
    )


# ---------------------------------------------------------------- trades


def trade_list(*, market: Market, limit: int = 100, before: int | None = None, since: datetime | None = None,
               until: datetime | None = None) -> list[dict]:
    """The latest trades, newest first (``before``: only trades with a smaller sequence); with
    ``since``, the first ``limit`` trades from then on, oldest first; ``until`` bounds the
    time (inclusive)."""
    from exchange.trading.models import Fill

    fills = Fill.objects.filter(market=market)
    if before is not None:
        fills = fills.filter(sequence__lt=before)
    if since is not None:
        fills = fills.filter(created_at__gte=since)
    if until is not None:
        fills = fills.filter(created_at__lte=until)
    return [
        {"trade_id": f"{market.symbol}:{seq}", "sequence": seq, "price": price, "quantity": quantity, "side": side,
         "ts": ts}
        for seq, price, quantity, side, ts in fills.order_by("sequence" if since is not None else "-sequence")
        .values_list("sequence", "price", "quantity", "aggressor", "created_at")[:limit]
    ]


# ---------------------------------------------------------------- candles


def candle_list(*, market: Market, interval: str, start: datetime | None = None, end: datetime | None = None,
                limit: int = 500, now: datetime | None = None) -> list[dict]:
    """Candles from ``start`` to ``end`` (bucket open times, inclusive; ``end`` defaults to now,
    ``start`` to ``limit`` buckets before ``end``), at most ``limit``, oldest first. Buckets
    without trades are filled with a flat candle at the previous close and zero volume; buckets
    before the market's first trade are left out."""
    if interval not in INTERVALS:
        raise ExchangeError("invalid_interval", f"interval must be one of {', '.join(INTERVALS)}")
    step = timedelta(seconds=INTERVALS[interval])
    from exchange.marketdata.services import bucket_start

    now = now or timezone.now()
    if end is None:
        end = now if start is None else start + step * (limit - 1)
    end = bucket_start(min(end, now), INTERVALS[interval])  # never candles from the future
    start = end - step * (limit - 1) if start is None else bucket_start(start, INTERVALS[interval])
    if start > end:
        return []
    if (end - start) / step >= limit:
        end = start + step * (limit - 1)
    stored = {c.open_time: c for c in Candle.objects.filter(market=market, interval=interval,
                                                            open_time__gte=start, open_time__lte=end)}
    before = (Candle.objects.filter(market=market, interval=interval, open_time__lt=start)
              .order_by("-open_time").values_list("close", flat=True).first())
    out = []
    previous = before
    t = start
    while t <= end:
        candle = stored.get(t)
        if candle is not None:
            out.append({"open_time": t, "open": candle.open, "high": candle.high, "low": candle.low,
                        "close": candle.close, "volume": candle.volume, "quote_volume": candle.quote_volume,
                        "trades": candle.trade_count})
            previous = candle.close
        elif previous is not None:
            out.append({"open_time": t, "open": previous, "high": previous, "low": previous, "close": previous,
                        "volume": Decimal(0), "quote_volume": Decimal(0), "trades": 0})
        t += step
    return out


def candle_rows(*, keys: list[tuple[int, str, int]]) -> dict[tuple[int, str, int], tuple]:
    """The stored candles at (market id, interval, bucket start in epoch seconds), in one
    statement, for the candles channel: key -> (open, high, low, close, volume, quote_volume,
    trade_count, last_sequence). Keys without a candle are absent."""
    if not keys:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.market_id, c.interval, c.open_time, c.open, c.high, c.low, c.close, c.volume, c.quote_volume,
                      c.trade_count, c.last_sequence
               FROM unnest(%s::bigint[], %s::text[], %s::bigint[]) AS k(market_id, interval, start)
               JOIN marketdata_candle c ON c.market_id = k.market_id AND c.interval = k.interval
                                       AND c.open_time = to_timestamp(k.start)""",
            [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]],
        )
        return {(row[0], row[1], int(row[2].timestamp())): row[3:] for row in cursor.fetchall()}


# ---------------------------------------------------------------- tickers


def ticker_window_start(now: datetime) -> datetime:
    """The 24 h window: the current minute and the 1,439 before it."""
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    return minute - timedelta(minutes=TICKER_MINUTES - 1)


_TICKER_SQL = """
SELECT m.id, m.symbol, ms.last_sequence, w.open, w.last, w.high, w.low, w.volume, w.quote_volume, w.trades,
       (SELECT c.close FROM marketdata_candle c WHERE c.market_id = m.id AND c.interval = '1m'
        ORDER BY c.open_time DESC LIMIT 1) AS latest_close
FROM markets_market m
LEFT JOIN trading_matcherstate ms ON ms.market_id = m.id
LEFT JOIN LATERAL (
    SELECT (array_agg(c.open ORDER BY c.first_sequence))[1] AS open,
           (array_agg(c.close ORDER BY c.last_sequence DESC))[1] AS last,
           max(c.high) AS high, min(c.low) AS low, sum(c.volume) AS volume, sum(c.quote_volume) AS quote_volume,
           sum(c.trade_count) AS trades
    FROM marketdata_candle c
    WHERE c.market_id = m.id AND c.interval = '1m' AND c.open_time >= %s
) w ON true
WHERE %s::bigint IS NULL OR m.id = %s
ORDER BY m.symbol
"""


def _tickers(market_id: int | None, now: datetime | None) -> list[dict]:
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_TICKER_SQL, [ticker_window_start(now), market_id, market_id])
        rows = cursor.fetchall()
    store = book_store()
    tops = [store.snapshot(row[1], 1) for row in rows]
    out = []
    for row, (_, bids, asks) in zip(rows, tops, strict=True):
        _, symbol, sequence, open_, last, high, low, volume, quote_volume, trades, latest_close = row
        change = change_pct = None
        if open_ is not None:
            change = last - open_
            change_pct = (change * 100 / open_).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
        out.append({
            "market": symbol, "sequence": sequence or 0, "last": last if last is not None else latest_close,
            "open": open_, "change": change, "change_pct": change_pct, "high": high, "low": low,
            "volume": volume or Decimal(0), "quote_volume": quote_volume or Decimal(0), "trades": trades or 0,
            "best_bid": bids[0][0] if bids else None, "best_ask": asks[0][0] if asks else None,
            "window_start": ticker_window_start(now), "ts": now,
        })
    return out


def ticker_get(*, market: Market, now: datetime | None = None) -> dict:
    """The 24 h rolling ticker of one market (see ``ticker_list``)."""
    return _tickers(market.pk, now)[0]


def ticker_list(*, now: datetime | None = None) -> list[dict]:
    """Every market's 24 h ticker, from the 1-minute candles of the window: ``open`` is the
    first trade in the window and ``last`` the latest (market sequence order), ``high``/``low``/
    ``volume`` over the window; with no trade in the window ``last`` is the latest trade before it
    and ``open``, ``change``, ``high``, ``low`` are null. Best bid and ask come from the book."""
    return _tickers(None, now)
