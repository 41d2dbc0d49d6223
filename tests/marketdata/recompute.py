"""Candles and tickers recomputed straight from the fills table: the reference the incremental
ones are checked against."""
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14_400, "1d": 86_400}


def bucket(ts: datetime, seconds: int) -> datetime:
    epoch = int(ts.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def fills(market) -> list[tuple]:
    from exchange.trading.models import Fill

    return list(Fill.objects.filter(market=market).order_by("sequence")
                .values_list("sequence", "price", "quantity", "created_at"))


def candles(trades: list[tuple], interval: str) -> dict[datetime, dict]:
    groups = defaultdict(list)
    for trade in trades:
        groups[bucket(trade[3], INTERVALS[interval])].append(trade)
    out = {}
    for start, group in groups.items():
        group.sort()
        out[start] = {"open": group[0][1], "high": max(t[1] for t in group), "low": min(t[1] for t in group),
                      "close": group[-1][1], "volume": sum(t[2] for t in group),
                      "quote_volume": sum(t[1] * t[2] for t in group), "trades": len(group)}
    return out


def stored_candles(market, interval: str) -> dict[datetime, dict]:
    from exchange.marketdata.models import Candle

    return {c.open_time: {"open": c.open, "high": c.high, "low": c.low, "close": c.close, "volume": c.volume,
                          "quote_volume": c.quote_volume, "trades": c.trade_count}
            for c in Candle.objects.filter(market=market, interval=interval)}


def ticker(trades: list[tuple], now: datetime) -> dict:
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=1439)
    inside = sorted(t for t in trades if t[3] >= start)
    before = [t for t in trades if t[3] < start]
    if inside:
        open_, last = inside[0][1], inside[-1][1]
        change = last - open_
        return {"open": open_, "last": last, "high": max(t[1] for t in inside), "low": min(t[1] for t in inside),
                "volume": sum(t[2] for t in inside), "quote_volume": sum(t[1] * t[2] for t in inside),
                "trades": len(inside), "change": change,
                "change_pct": (change * 100 / open_).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)}
    last = max(before, key=lambda t: (bucket(t[3], 60), t[0]))[1] if before else None
    return {"open": None, "last": last, "high": None, "low": None, "volume": 0, "quote_volume": 0, "trades": 0,
            "change": None, "change_pct": None}
