"""Marking the close: aggressive trading in the last minutes that moves the reference price.

SURVEILLANCE.md rule 9 (CEA 4c(a)(5)(B); MAR 2016/522: trading "at the reference time of the
trading session ... in an effort to increase, to decrease or to maintain the reference
price"). Evaluated on each `market_close` event, over the `window` seconds before it: the
reference price (the event's `price` if present, else the last trade) moved at least
`min_move_bps` over the final `final_seconds`, in the direction of an account that took
`min_share` of that direction's aggressive volume there (TT's "Dominating the Close", A6),
did most of its own window's trading there, and traded far more aggressively than it usually
does (`min_unusual_ratio` times its baseline).

Funds' closing flows (index rebalances, daily creations and redemptions) are the hard negative:
they trade at every close, so their own history of closing windows is their baseline, and they
work the flow over the whole window rather than in the last seconds (propreports: market makers
"receive large market-on-close orders on expiration Fridays and rebalancing days").
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from decimal import Decimal

from surveillance.detectors.base import Alert, Detector, fmt_qty, graded, make_alert, score_from
from surveillance.detectors.book_state import BUY, SELL


@dataclass
class MarkingTheCloseParams:
    """Thresholds (proposals: the sources define the behaviour, not the numbers).

    - `window` 600 s: "the last minutes before the close"; wide enough to see how a flow was
      worked before its last minutes.
    - `min_move_bps` 30: the closing reference price moved at least 0.3% over the final
      `final_seconds` (from the last trade before them).
    - `min_share` 0.3: the account took at least 30% of the aggressive volume in the move's
      direction over the last `final_seconds` (it drove the closing prints; TT's model asks for
      "most" of the volume in the last 3 minutes, A6, 30% allows for a fund trading alongside).
    - `final_seconds` 180 and `min_final_share` 0.5: at least half of the account's aggressive
      volume in the window came in the last 3 minutes, TT's "Dominating the Close" span (A6); a
      flow worked evenly over the window puts 30% there.
    - `min_orders` 2: a series of aggressive orders, not one (TT's ramping and SGX 5.12.2(k):
      "a series of orders"; proposal). One large order into the close is a flow to work, not
      a print to paint.
    - `min_unusual_ratio` 5: its aggressive volume in the window is at least 5 times its baseline,
      the larger of its average per window-length during the session and its average over the
      closing windows seen before ("unusual for that account").
    """

    window: float = 600.0
    min_move_bps: float = 30.0
    min_share: float = 0.3
    final_seconds: float = 180.0
    min_final_share: float = 0.5
    min_orders: int = 2
    min_unusual_ratio: float = 5.0


class MarkingTheCloseDetector(Detector):
    """Evaluates each market's closing window when its `market_close` event arrives."""

    typology = "marking_the_close"
    Params = MarkingTheCloseParams

    def __init__(self, params=None, *, state=None):
        super().__init__(params, state=state)
        # market -> trades of the last `window` seconds: (ts, taker, side, qty, price, trade_id, order_id)
        self._recent: dict[str, deque] = defaultdict(deque)
        # market -> account -> aggressive volume earlier in the session (trades that left `_recent`)
        self._earlier: dict[str, dict] = defaultdict(lambda: defaultdict(Decimal))
        self._last_before: dict[str, Decimal] = {}
        self._session_start: dict[str, float] = {}
        self._closes: dict[str, int] = defaultdict(int)
        self._close_volume: dict[tuple, Decimal] = defaultdict(Decimal)

    def on_event(self, event: dict) -> list[Alert]:
        kind = event.get("type")
        if kind == "trade":
            market, side = event["market"], event.get("aggressor")
            taker = event.get("buyer") if side == BUY else event.get("seller")
            order_id = event.get("buy_order_id") if side == BUY else event.get("sell_order_id")
            self._session_start.setdefault(market, self.state.now)
            self._recent[market].append(
                (self.state.now, taker, side, Decimal(event["quantity"]), Decimal(event["price"]), event["trade_id"], order_id)
            )
            self._age(market)
            return []
        if kind == "market_close":
            return self._close(event["market"], event)
        return []

    def _age(self, market: str) -> None:
        """Move trades older than the window into the session's per-account totals."""
        recent, horizon = self._recent[market], self.state.now - self.params.window
        earlier = self._earlier[market]
        while recent and recent[0][0] < horizon:
            old = recent.popleft()
            earlier[old[1]] += old[3]
            self._last_before[market] = old[4]

    def _close(self, market: str, event: dict) -> list[Alert]:
        p, now = self.params, self.state.now
        self._age(market)
        inside = list(self._recent.pop(market, ()))
        earlier = self._earlier.pop(market, {})
        start_price = self._last_before.pop(market, None)
        session_start = self._session_start.pop(market, now)
        alerts: list[Alert] = []
        if inside:
            reference = Decimal(event["price"]) if event.get("price") is not None else inside[-1][4]
            # the move that counts is the one over the final minutes, where closing prints are set
            before_final = [t[4] for t in inside if t[0] < now - p.final_seconds]
            if before_final:
                start_price = before_final[-1]
            elif start_price is None:
                start_price = inside[0][4]
            move_bps = float((reference - start_price) / start_price * 10_000)
            direction = BUY if move_bps > 0 else SELL
            if abs(move_bps) >= p.min_move_bps:
                windows = max((now - p.window - session_start) / p.window, 1.0)
                alerts = self._accounts(market, direction, inside, earlier, windows, move_bps, start_price, reference)
        volume: dict = defaultdict(Decimal)
        for t in inside:
            volume[t[1]] += t[3]
        for account, qty in volume.items():
            self._close_volume[(market, account)] += qty
        self._closes[market] += 1
        return alerts

    def _accounts(self, market, direction, inside, earlier, windows, move_bps, start_price, reference):
        p, now = self.params, self.state.now
        late_from = now - p.final_seconds
        sided = [t for t in inside if t[2] == direction]
        late_total = sum((t[3] for t in sided if t[0] >= late_from), Decimal(0))
        by_account: dict = defaultdict(list)
        for t in sided:
            by_account[t[1]].append(t)
        alerts = []
        for account, own in by_account.items():
            qty = sum((t[3] for t in own), Decimal(0))
            late = sum((t[3] for t in own if t[0] >= late_from), Decimal(0))
            share = float(late / late_total) if late_total > 0 else 0.0
            if share < p.min_share:
                continue
            final_share = float(late / qty)
            if final_share < p.min_final_share:
                continue
            if len({t[6] for t in own if t[0] >= late_from}) < p.min_orders:
                continue
            all_inside = sum((t[3] for t in inside if t[1] == account), Decimal(0))
            closes = self._closes[market]
            history = self._close_volume[(market, account)] / closes if closes else Decimal(0)
            baseline = max(earlier.get(account, Decimal(0)) / Decimal(windows), history)
            unusual = float(all_inside / baseline) if baseline > 0 else float("inf")
            if unusual < p.min_unusual_ratio:
                continue
            unusual_text = f"{unusual:.1f}x its usual volume" if baseline > 0 else "with no such trading before"
            alerts.append(
                make_alert(
                    typology=self.typology,
                    market=market,
                    accounts=[account],
                    start=own[0][0],
                    end=now,
                    score=score_from(
                        graded(abs(move_bps), p.min_move_bps),
                        graded(share, p.min_share, saturation=1 / p.min_share),
                        graded(final_share, p.min_final_share, saturation=1 / p.min_final_share),
                        graded(min(unusual, 1e6), p.min_unusual_ratio),
                    ),
                    order_ids=[t[6] for t in own],
                    trade_ids=[t[5] for t in own],
                    reason=(
                        f"Account {account} took {share:.0%} of the aggressive {direction} volume in the last "
                        f"{p.final_seconds:.0f} s before the close ({fmt_qty(late)} of the {fmt_qty(qty)} it traded in "
                        f"{len({t[6] for t in own})} orders over the last {p.window:.0f} s), {unusual_text}, while the "
                        f"reference price moved {move_bps:+.0f} bps from {fmt_qty(start_price)} to {fmt_qty(reference)}."
                    ),
                )
            )
        return alerts
