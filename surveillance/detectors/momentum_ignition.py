"""Momentum ignition: a burst of aggressive orders through several levels, then an unwind.

SURVEILLANCE.md rule 4 (MAR 2016/522 Annex II 4(e); TT "aggressive orders followed by an attempt
to capitalize on such movement", A6). Ignition: `min_aggressive_orders` marketable orders of one
account on one side within `ignition_window`, trading at two or more distinct prices.
Capitalisation: the same account's fills on the other side within `reversal_window` after the last
ignition order reach `min_unwind_ratio` of the ignition quantity. Then graded evidence (sweeping
through the touch, price levels, unwind share, gain) decides; the alert goes out on the fill that
completes the unwind.

Execution algorithms (TWAP, VWAP, POV) send same-side aggressive child orders too, but they do not
turn round within minutes: the unwind test keeps them out. A high-frequency arbitrageur does turn
round, but takes what the touch shows rather than sweeping through it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from surveillance.detectors.base import Alert, Detector, fmt_qty, make_alert
from surveillance.detectors.book_state import BUY, SELL, ZERO
from surveillance.detectors.scoring import Evidence, ramp


@dataclass
class MomentumIgnitionParams:
    """Thresholds.

    - `ignition_window` 15 s, `reversal_window` 180 s, `min_unwind_ratio` 0.5: SURVEILLANCE.md
      rule 4 proposes W_ign = 5 s, W_rev = 60 s and rho = 0.5; both windows are three times
      longer so that an igniter three times slower than the proposal is still one burst.
    - `min_aggressive_orders` 3: a "succession of orders" (Eventus, A2); TT's ramping model counts
      several aggressive orders in a short span (A6). A gate (proposal).
    - sweeping: the share of the burst's orders that asked for more than the opposite touch
      showed when they arrived, graded from 30% to 80% (weight 3). Igniting a move means paying
      through the book; an arbitrageur or an execution algorithm takes what the touch offers.
    - `min_price_levels` 3: distinct prices the burst traded at (rule 4's "price change >= m
      ticks", in the market's own price levels), graded up to twice that.
    - the unwind share graded from `min_unwind_ratio` to 0.9, and a gain on the unwind: evidence,
      not a requirement (issue 17: a manipulator who loses a little is still one).
    - `alert_score` 0.6: the weighted mean of the grades that alerts.
    """

    ignition_window: float = 15.0
    min_aggressive_orders: int = 3
    min_price_levels: int = 3
    reversal_window: float = 180.0
    min_unwind_ratio: float = 0.5
    alert_score: float = 0.6


@dataclass
class _Ignition:
    side: str
    start: float
    end: float
    orders: dict = field(default_factory=dict)
    prices: set = field(default_factory=set)
    trade_ids: list = field(default_factory=list)
    qty: Decimal = ZERO
    notional: Decimal = ZERO
    unwind_qty: Decimal = ZERO
    unwind_notional: Decimal = ZERO
    unwind_trades: list = field(default_factory=list)
    unwind_orders: list = field(default_factory=list)
    unwind_end: float = 0.0
    ignited: bool = False
    alerted: bool = False


class MomentumIgnitionDetector(Detector):
    """Streams momentum-ignition alerts per (market, account)."""

    typology = "momentum_ignition"
    Params = MomentumIgnitionParams

    def __init__(self, params=None, *, state=None):
        super().__init__(params, state=state)
        # (market, account) -> recent aggressive fills [(ts, side, order_id, price, qty, trade_id)]
        self._aggressive: dict[tuple, deque] = {}
        self._ignitions: dict[tuple, _Ignition] = {}

    def on_event(self, event: dict) -> list[Alert]:
        if event.get("type") != "trade":
            return []
        market, now = event["market"], self.state.now
        price, qty = Decimal(event["price"]), Decimal(event["quantity"])
        alerts: list[Alert] = []
        taker_side = event.get("aggressor")
        for account, side, order_key in (
            (event.get("buyer"), BUY, "buy_order_id"),
            (event.get("seller"), SELL, "sell_order_id"),
        ):
            key = (market, account)
            ignition = self._ignitions.get(key)
            if ignition is not None and not ignition.alerted and side != ignition.side:
                alerts += self._unwind(key, ignition, event, price, qty, now)
            if side == taker_side:
                self._aggress(key, side, event[order_key], price, qty, event["trade_id"], now)
        return alerts

    def _aggress(self, key, side, order_id, price, qty, trade_id, now) -> None:
        p = self.params
        recent = self._aggressive.setdefault(key, deque())
        recent.append((now, side, order_id, price, qty, trade_id))
        while recent and now - recent[0][0] > p.ignition_window:
            recent.popleft()
        same = [f for f in recent if f[1] == side]
        ignition = self._ignitions.get(key)
        if ignition is not None and ignition.side == side and not ignition.alerted and now - ignition.end <= p.ignition_window:
            burst = ignition  # the burst goes on: extend it
        else:
            if len({f[2] for f in same}) < p.min_aggressive_orders:
                return
            if ignition is not None and ignition.ignited and not ignition.alerted and now - ignition.end <= p.reversal_window:
                return  # an unwind is still being watched; do not replace it
            burst = _Ignition(side=side, start=same[0][0], end=now)
            self._ignitions[key] = burst
            for fill in same:
                self._add(burst, fill)
            burst.ignited = self._ignited(burst)
            return
        self._add(burst, (now, side, order_id, price, qty, trade_id))
        burst.ignited = burst.ignited or self._ignited(burst)

    def _ignited(self, burst: _Ignition) -> bool:
        return len(burst.orders) >= self.params.min_aggressive_orders and len(burst.prices) >= 2

    @staticmethod
    def _add(burst: _Ignition, fill) -> None:
        ts, _, order_id, price, qty, trade_id = fill
        burst.end = ts
        burst.orders[order_id] = True
        burst.prices.add(price)
        burst.trade_ids.append(trade_id)
        burst.qty += qty
        burst.notional += price * qty

    def _unwind(self, key, burst: _Ignition, event, price, qty, now) -> list[Alert]:
        p = self.params
        if not burst.ignited or now - burst.end > p.reversal_window:
            return []
        burst.unwind_qty += qty
        burst.unwind_notional += price * qty
        burst.unwind_trades.append(event["trade_id"])
        order_key = "sell_order_id" if burst.side == BUY else "buy_order_id"
        burst.unwind_orders.append(event[order_key])
        if float(burst.unwind_qty) < p.min_unwind_ratio * float(burst.qty):
            return []
        entry = burst.notional / burst.qty
        exit_ = burst.unwind_notional / burst.unwind_qty
        gain = (exit_ - entry) if burst.side == BUY else (entry - exit_)
        ratio = float(burst.unwind_qty / burst.qty)
        records = [self.state.order(key[0], order_id) for order_id in burst.orders]
        known = [r for r in records if r is not None]
        swept = sum(1 for r in known if r.quantity > r.touch_qty) / len(known) if known else 0.0
        evidence = (
            Evidence()
            .add("sweeping", ramp(swept, 0.3, 0.8), 3.0)
            .add("levels", ramp(len(burst.prices), p.min_price_levels - 1, 2 * p.min_price_levels))
            .add("unwound", ramp(ratio, p.min_unwind_ratio, 0.9))
            .add("gain", 1.0 if gain > 0 else 0.5)
        )
        if evidence.score < p.alert_score:
            return []
        burst.alerted = True
        market, account = key
        unwind_side = SELL if burst.side == BUY else BUY
        return [
            make_alert(
                typology=self.typology,
                market=market,
                accounts=[account],
                start=burst.start,
                end=now,
                score=evidence.score,
                order_ids=list(burst.orders) + burst.unwind_orders,
                trade_ids=burst.trade_ids + burst.unwind_trades,
                reason=(
                    f"Account {account} sent {len(burst.orders)} aggressive {burst.side} orders in "
                    f"{burst.end - burst.start:.1f} s that traded {fmt_qty(burst.qty)} at {len(burst.prices)} "
                    f"price levels (average {fmt_qty(entry.quantize(Decimal('1e-8')))}), then within "
                    f"{now - burst.end:.1f} s {unwind_side} {fmt_qty(burst.unwind_qty)} ({ratio:.0%} of it) at an average "
                    f"{fmt_qty(exit_.quantize(Decimal('1e-8')))}, {fmt_qty(gain.quantize(Decimal('1e-8')))} better per unit; "
                    f"{swept:.0%} of the burst's orders asked for "
                    f"more than the touch showed. Evidence: {evidence.summary()}."
                ),
            )
        ]
