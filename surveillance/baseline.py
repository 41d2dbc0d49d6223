"""What is normal in one market, learned online from its own trades: the units detectors think in.

Issue 17: a threshold in basis points, percent of price or events per second only makes sense
at one price level and one activity level. The detectors instead measure a price move in
multiples of this market's recent volatility over the same horizon and of its spread, and a
rate in multiples of the market's own rate. Everything is learned from the journal as it
streams (no configuration per market) and forgets slowly (`horizon`), so a market that changes
regime re-learns within about an hour.

Pure: no Django, no clock; time is the events' own.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from decimal import Decimal

# Price samples are kept every `sample` seconds of event time over `horizon` seconds.
SAMPLE_SECONDS = 5.0
HORIZON_SECONDS = 7200.0
# Weight of one new observation in the spread's moving average (about the last 200 trades).
SPREAD_ALPHA = 0.005


class MarketBaseline:
    """Volatility per horizon, spread and trade rate of one market, from its trades."""

    __slots__ = ("_samples", "first_at", "last_price", "spread", "step", "trades")

    def __init__(self):
        self._samples: deque = deque()  # (ts, log price), one per SAMPLE_SECONDS at most
        self.spread: float | None = None  # relative (ask - bid) / mid, moving average
        self.step: Decimal | None = None  # smallest positive gap seen between two trade prices
        self.last_price: Decimal | None = None
        self.first_at: float | None = None
        self.trades = 0

    def on_trade(self, now: float, price: Decimal, bid: Decimal | None, ask: Decimal | None) -> None:
        if self.first_at is None:
            self.first_at = now
        self.trades += 1
        if self.last_price is not None and price != self.last_price:
            gap = abs(price - self.last_price)
            if self.step is None or gap < self.step:
                self.step = gap
        self.last_price = price
        if bid is not None and ask is not None and ask > bid:
            relative = float((ask - bid) / ((ask + bid) / 2))
            self.spread = relative if self.spread is None else self.spread + SPREAD_ALPHA * (relative - self.spread)
        samples = self._samples
        if not samples or now - samples[-1][0] >= SAMPLE_SECONDS:
            samples.append((now, math.log(price)))
            while samples and now - samples[0][0] > HORIZON_SECONDS:
                samples.popleft()

    def history(self, now: float) -> float:
        """Seconds of trading behind this baseline."""
        return 0.0 if self.first_at is None else now - self.first_at

    def volatility(self, window: float, *, until: float | None = None) -> float | None:
        """The typical relative price move over `window` seconds, from samples before `until`.

        Measured over a tenth of `window` (at least two samples apart) and scaled by the square
        root of time, a random walk's law: short moves are many, and a trend (a large parent
        order at work, a rally) inflates them far less than it inflates moves over the whole
        window. Falls back to shorter horizons in a young or quiet market; None when even that
        is out of reach.
        """
        points = [s for s in self._samples if until is None or s[0] <= until]
        horizon = max(2 * SAMPLE_SECONDS, window / 10)
        while horizon >= SAMPLE_SECONDS:
            moves = _moves(points, horizon)
            if len(moves) >= 10:
                # The median absolute move, scaled to a standard deviation (0.6745 for a normal
                # law): robust to the odd jump.
                typical = statistics.median(abs(m) for m in moves) / 0.6745
                return typical * math.sqrt(window / horizon)
            horizon /= 2
        return None

    def move_scale(self, window: float, *, until: float | None = None) -> float | None:
        """The relative move that is ordinary over `window`: its volatility, its spread or one price
        step, whichever is largest (a flat market still moves by a step)."""
        volatility = self.volatility(window, until=until)
        if volatility is None:
            return None
        tick = float(self.step / self.last_price) if self.step and self.last_price else 0.0
        return max(volatility, self.spread or 0.0, tick) or None

    def calm_move_scale(self, window: float, *, until: float | None = None) -> float | None:
        """`move_scale` with the smaller of two volatility estimates: the square-root-scaled short
        moves of `volatility` and the moves measured over the whole `window`.

        Short moves overstate the move over a window when they are mostly noise that does not add
        up: bid-ask bounce in a coarse-tick market, the decaying impact of aggressive trades in a
        busy one. Moves over the whole window overstate it when a trend (a parent order at work)
        runs through them. A rally has to stand out from the calmer of the two. Falls back to
        `move_scale` while the window's own moves are too few (under ten).
        """
        short = self.volatility(window, until=until)
        if short is None:
            return None
        points = [s for s in self._samples if until is None or s[0] <= until]
        moves = _moves(points, window)
        if len(moves) >= 10:
            short = min(short, statistics.median(abs(m) for m in moves) / 0.6745)
        tick = float(self.step / self.last_price) if self.step and self.last_price else 0.0
        return max(short, self.spread or 0.0, tick) or None


__all__ = ["HORIZON_SECONDS", "SAMPLE_SECONDS", "SPREAD_ALPHA", "MarketBaseline"]


def _moves(points: list, window: float) -> list:
    """Log-price changes over `window` seconds (overlapping, at most about 200 of them)."""
    moves = []
    j = 0
    stride = max(1, len(points) // 200)
    for i in range(0, len(points), stride):
        ts, value = points[i]
        while j + 1 < len(points) and points[j + 1][0] <= ts - window:
            j += 1
        if points[j][0] <= ts - window:
            moves.append(value - points[j][1])
    return moves
