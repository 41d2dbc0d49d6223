"""The ``candles:{interval}`` channel: each market's candle pushed as trades change it, and each
closed candle sent once (with ``closed: true``).

It runs in the matcher's fan-out process (``fanout.run``), after the batches' commits:
the candles it reads are the ones the matcher wrote in those transactions
(``services.candles_upsert``), so a pushed candle is never ahead of the fills. It is sent to the
group ``candles.{symbol}`` (one message per market and send, every interval's candles in it; a
socket forwards the intervals it subscribed to), which only the multi-market socket
(``/ws/stream/``) joins: the per-market sockets see no new message type.

When is a candle closed? A trade's time is its order's entry time, so a trade matched just after a
bucket's end may still belong to it: a bucket is closed ``CLOSE_GRACE`` seconds after its end, or
as soon as a trade lands in a later bucket. A trade that arrives later still (a command relayed
after Redis lost its streams keeps its entry time) changes a closed candle: that candle is sent
again, ``closed: true``, and a client keeps the latest message per ``open_time``. Buckets without
trades have no candle (as in the REST series, a client draws them flat at the previous close).
"""
from datetime import UTC, datetime

from exchange.infra.pubsub import hub_publish
from exchange.marketdata.models import INTERVALS
from exchange.trading.streams import redis_client

CLOSE_GRACE = 2.0

# (symbol, market id, interval, bucket start in epoch seconds, closed)
CandleDue = tuple[str, int, str, int, bool]


def candles_group(symbol: str) -> str:
    return f"candles.{symbol}"


class OpenCandles:
    """Which bucket of each (market, interval) was last sent open, and what to send next.

    Pure: the clock is an argument, so the closing rule is tested without waiting for minutes."""

    def __init__(self, grace: float = CLOSE_GRACE) -> None:
        self.grace = grace
        self.open: dict[tuple[str, str], tuple[int, int]] = {}  # (symbol, interval) -> (market id, start)

    def traded(self, symbol: str, market_id: int, times: list[datetime], now: float) -> list[CandleDue]:
        """The candles to send after trades at ``times`` in ``symbol``: every bucket they touched,
        and the bucket held open before if a later one now shows it closed."""
        epochs = {int(ts.timestamp()) for ts in times}
        out: list[CandleDue] = []
        for interval, seconds in INTERVALS.items():
            touched = {epoch - epoch % seconds for epoch in epochs}
            key = (symbol, interval)
            held = self.open.get(key)
            buckets = touched | ({held[1]} if held else set())
            latest = max(buckets)
            for start in sorted(buckets):
                closed = start < latest or now >= start + seconds + self.grace
                if start in touched or closed:  # an open bucket without new trades has nothing new
                    out.append((symbol, market_id, interval, start, closed))
            if now >= latest + seconds + self.grace:
                self.open.pop(key, None)
            else:
                self.open[key] = (market_id, latest)
        return out

    def has_due(self, now: float) -> bool:
        return any(now >= start + INTERVALS[interval] + self.grace for (_, interval), (_, start) in self.open.items())

    def due(self, now: float) -> list[CandleDue]:
        """The open candles whose bucket ended at least ``grace`` seconds ago: sent closed, once."""
        out: list[CandleDue] = []
        for (symbol, interval), (market_id, start) in list(self.open.items()):
            if now >= start + INTERVALS[interval] + self.grace:
                del self.open[(symbol, interval)]
                out.append((symbol, market_id, interval, start, True))
        return out


class CandleFeed:
    """The fan-out's sender of the candles channel (one per fan-out process).

    Trades are gathered and their candles sent at most every ``SEND_EVERY`` seconds: under load
    the fan-out turns many times a second, and each send costs a read of the candles and a
    ``group_send`` per market whether or not anyone listens."""

    SEND_EVERY = 0.25

    def __init__(self) -> None:
        self.candles = OpenCandles()
        self.pending: dict[str, tuple[int, list[datetime]]] = {}  # symbol -> (market id, trade times)
        self.last_send = 0.0

    def send(self, items: list[dict], now: float) -> None:
        """After ``items`` (batches, in order) were published, and on every idle turn: push the
        candles their trades changed and close the ones whose time has come."""
        for item in items:
            if item["fills"]:
                self.pending.setdefault(item["symbol"], (item["market_id"], []))[1].extend(f[-1] for f in item["fills"])
        due: list[CandleDue] = []
        # Never close a candle before the trades waiting for it are counted.
        if self.pending and (now - self.last_send >= self.SEND_EVERY or self.candles.has_due(now)):
            pending, self.pending, self.last_send = self.pending, {}, now
            due = [d for symbol, (market_id, ts) in pending.items() for d in self.candles.traded(symbol, market_id, ts, now)]
        due.extend(self.candles.due(now))
        if due:
            self._send(due)

    @staticmethod
    def _send(due: list[CandleDue]) -> None:
        from exchange.marketdata.messages import candle_message
        from exchange.marketdata.selectors import candle_rows

        rows = candle_rows(keys=[(market_id, interval, start) for _, market_id, interval, start, _ in due])
        frames: dict[str, list[dict]] = {}
        for symbol, market_id, interval, start, closed in due:
            row = rows.get((market_id, interval, start))
            if row is not None:  # always there: the trades that made it committed before this
                opened = datetime.fromtimestamp(start, tz=UTC)
                frames.setdefault(symbol, []).append(candle_message(symbol, interval, opened, row, closed))
        hub_publish(redis_client(), [(candles_group(symbol), {"type": "md.candle", "market": symbol, "frames": out})
                                        for symbol, out in frames.items()])
