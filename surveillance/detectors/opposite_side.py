"""The mechanism spoofing and layering share: orders on one side to trade on the other.

Anchor (SURVEILLANCE.md rule 1): every fill of an owner on side Y. The candidate set is the
owner's resting orders on side X at the moment of that fill; further fills on side Y join the
same cycle. The cycle is settled once those orders are all closed or `cancel_window` seconds
have passed since the last fill, whichever comes first, so an alert never waits for the end of
the stream. A cycle qualifies when the X orders were large against the
owner's genuine interest on side Y and against the visible depth, lived briefly, barely filled,
and were pulled after the fill: each of those is graded evidence (`surveillance.detectors.scoring`),
and a cycle whose weighted score reaches `cycle_score` counts. The owner's cycles in one market
within `lookback` alert once the best cycle's score plus `repetition_bonus` per further cycle
reaches `alert_score`: one clean, large instance is enough; later cycles extend the episode.

Market makers quote both sides with similar sizes, so their X interest is never `min_size_ratio`
times their Y interest: the one-sidedness test is what keeps them out, not the cancel rate.
"""

from __future__ import annotations

import heapq
import statistics
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from surveillance.detectors.base import Alert, Detector, Episodes, fmt_qty, make_alert
from surveillance.detectors.book_state import BUY, SELL, ZERO, OrderRecord, opposite
from surveillance.detectors.scoring import Evidence, ramp


@dataclass
class _Pending:
    market: str
    owner: object
    y_side: str
    at: float
    deadline: float
    genuine: Decimal
    x_orders: list
    x_qty: dict
    x_visible: Decimal
    accounts: set = field(default_factory=set)
    y_order_ids: list = field(default_factory=list)
    trade_ids: list = field(default_factory=list)
    y_filled: Decimal = ZERO
    last_fill: float = 0.0
    settled: bool = False


@dataclass
class _Cycle:
    at: float
    end: float
    accounts: set
    order_ids: list
    trade_ids: list
    x_side: str
    size: Decimal
    genuine: Decimal
    depth_share: float
    cancelled_share: float
    fill_ratio: float
    lifetime: float
    levels: int
    modifications: float
    score: float = 0.0


class OppositeSideDetector(Detector):
    """Base of `SpoofingDetector` and `LayeringDetector`; subclasses choose the X orders."""

    def __init__(self, params=None, *, state=None):
        super().__init__(params, state=state)
        self._pending: dict[tuple, _Pending] = {}
        self._deadlines: list = []
        self._cycles: dict[tuple, deque] = {}
        self._used: dict = {}
        self._episodes = Episodes(self.params.episode_gap)
        self._seq = 0

    # -- subclass hook ------------------------------------------------------------------
    def select(self, orders: list[OrderRecord]) -> list[OrderRecord] | None:  # pragma: no cover
        raise NotImplementedError

    def describe(self, cycles: list[_Cycle], owner) -> str:  # pragma: no cover
        raise NotImplementedError

    # -- streaming ----------------------------------------------------------------------
    def on_event(self, event: dict) -> list[Alert]:
        alerts: list[Alert] = []
        now = self.state.now
        while self._deadlines and self._deadlines[0][0] <= now:
            due, _, pending = heapq.heappop(self._deadlines)
            if due >= pending.deadline:  # else a later fill moved it; a newer entry is queued
                alerts += self._settle(pending)
        kind = event.get("type")
        if kind == "trade":
            self._on_trade(event)
            # a fill can close the last X order of a pending cycle: the seller's sells are the X
            # side of its buy-side cycle, and the other way round
            alerts += self._settle_if_closed(event["market"], event.get("seller"), BUY)
            alerts += self._settle_if_closed(event["market"], event.get("buyer"), SELL)
        elif kind == "order_cancelled":
            record = self.state.order(event["market"], event["order_id"])
            if record is not None:
                alerts += self._settle_if_closed(record.market, record.account, opposite(record.side))
        return alerts

    def flush(self) -> list[Alert]:
        alerts: list[Alert] = []
        while self._deadlines:
            _, _, pending = heapq.heappop(self._deadlines)
            alerts += self._settle(pending)
        return alerts

    def _on_trade(self, event: dict) -> None:
        state, market = self.state, event["market"]
        buyer_owner = state.owner_of(event.get("buyer"))
        seller_owner = state.owner_of(event.get("seller"))
        if buyer_owner == seller_owner:
            return  # a self-trade is wash trading's business
        for account, owner, y_side, order_key in (
            (event.get("buyer"), buyer_owner, BUY, "buy_order_id"),
            (event.get("seller"), seller_owner, SELL, "sell_order_id"),
        ):
            key = (market, owner, y_side)
            y_order = state.order(market, event.get(order_key))
            pending = self._pending.get(key)
            if pending is not None and not pending.settled:
                # the window runs from the last fill (E1: pulled 2.3 s after the genuine order
                # had fully filled)
                self._add_fill(pending, event, account, y_order)
                pending.last_fill = state.now
                pending.deadline = state.now + self.params.cancel_window
                self._seq += 1
                heapq.heappush(self._deadlines, (pending.deadline, self._seq, pending))
                continue
            x_side = opposite(y_side)
            x_live = state.live_quantity(market, owner, x_side)
            if x_live <= 0:
                continue
            y_size = y_order.quantity if y_order is not None else Decimal(event["quantity"])
            y_rest = y_order.remaining if (y_order is not None and y_order.live) else ZERO
            genuine = state.live_quantity(market, owner, y_side) - y_rest + y_size
            if float(x_live) < self.params.min_size_ratio * float(genuine):
                continue
            x_orders = [
                record
                for acct in sorted(state.accounts_of(owner), key=str)
                for record in state.live_orders(market, acct, x_side).values()
                if record.order_id not in self._used
            ]
            if not x_orders:
                continue
            pending = _Pending(
                market=market,
                owner=owner,
                y_side=y_side,
                at=state.now,
                deadline=state.now + self.params.cancel_window,
                genuine=genuine,
                x_orders=x_orders,
                x_qty={r.order_id: r.remaining for r in x_orders},
                x_visible=state.book(market).visible(x_side, self.params.depth_levels),
                last_fill=state.now,
            )
            self._add_fill(pending, event, account, y_order, count_size=False)
            self._pending[key] = pending
            self._seq += 1
            heapq.heappush(self._deadlines, (pending.deadline, self._seq, pending))

    @staticmethod
    def _add_fill(pending: _Pending, event: dict, account, y_order, count_size: bool = True) -> None:
        pending.accounts.add(account)
        pending.trade_ids.append(event["trade_id"])
        pending.y_filled += Decimal(event["quantity"])
        if y_order is not None and y_order.order_id not in pending.y_order_ids:
            pending.y_order_ids.append(y_order.order_id)
            if count_size:
                pending.genuine += y_order.quantity

    def _settle_if_closed(self, market, account, y_side) -> list[Alert]:
        if account is None:
            return []
        pending = self._pending.get((market, self.state.owner_of(account), y_side))
        if pending is None or pending.settled:
            return []
        if all(not r.live for r in pending.x_orders):
            return self._settle(pending)
        return []

    def _settle(self, pending: _Pending) -> list[Alert]:
        if pending.settled:
            return []
        pending.settled = True
        key = (pending.market, pending.owner, pending.y_side)
        if self._pending.get(key) is pending:
            del self._pending[key]
        cycle = self._evaluate(pending)
        if cycle is None:
            return []
        for order_id in cycle.order_ids:
            self._used[order_id] = cycle.at
        return self._count(pending.market, pending.owner, cycle)

    def _evaluate(self, pending: _Pending) -> _Cycle | None:
        p = self.params
        chosen = self.select(pending.x_orders)
        if not chosen:
            return None
        size = sum((pending.x_qty[r.order_id] for r in chosen), ZERO)
        # Genuine interest is what the owner showed on side Y at the fill or when it placed the
        # X orders, whichever is larger: a ladder quoted on both sides at once stays two-sided
        # even after a sweep has eaten one side of it.
        pending.genuine = max(pending.genuine, max(r.opposite_at_entry for r in chosen))
        if size <= 0 or pending.genuine <= 0:
            return None
        size_ratio = float(size / pending.genuine)
        depth_share = float(size / pending.x_visible) if pending.x_visible > 0 else 1.0
        limit = pending.last_fill + p.cancel_window
        pulled = [r for r in chosen if r.cancelled and r.closed_at is not None and r.closed_at <= limit]
        cancelled_share = float(sum((r.cancelled_qty for r in pulled), ZERO) / size)
        quantity = sum((r.quantity for r in chosen), ZERO)
        fill_ratio = float(sum((r.filled for r in chosen), ZERO) / quantity) if quantity > 0 else 1.0
        if not pulled:
            return None
        lifetime = statistics.median(r.lifetime for r in pulled)
        if (
            size_ratio < p.min_size_ratio
            or depth_share < p.min_depth_share / 2
            or cancelled_share < p.min_cancelled_share - 0.3
        ):
            # two-sided interest (a market maker's ladder), too small to move anyone, or not pulled
            return None
        evidence = (
            Evidence()
            .add("size", ramp(size_ratio, p.min_size_ratio, 4 * p.min_size_ratio))
            .add("depth", ramp(depth_share, p.min_depth_share / 2, 1.5 * p.min_depth_share), 2.0)
            .add("pulled", ramp(cancelled_share, p.min_cancelled_share - 0.3, p.min_cancelled_share), 2.0)
            .add("unfilled", ramp(fill_ratio, 4 * p.max_fill_ratio, p.max_fill_ratio))
            .add("short-lived", ramp(lifetime, 3 * p.max_lifetime, p.max_lifetime / 2))
            .add("prompt", ramp(statistics.median(r.closed_at - pending.last_fill for r in pulled),
                                p.cancel_window, p.cancel_window / 5))
        )
        if evidence.score < p.cycle_score:
            return None
        return _Cycle(
            at=min(r.accepted_at for r in chosen),
            end=max(r.closed_at for r in pulled),
            accounts=pending.accounts | {r.account for r in chosen},
            order_ids=[r.order_id for r in chosen] + pending.y_order_ids,
            trade_ids=list(pending.trade_ids),
            x_side=chosen[0].side,
            size=size,
            genuine=pending.genuine,
            depth_share=depth_share,
            cancelled_share=cancelled_share,
            fill_ratio=fill_ratio,
            lifetime=lifetime,
            levels=len({r.price for r in chosen}),
            modifications=sum(r.amendments for r in chosen) / len(chosen),
            score=evidence.score,
        )

    def _count(self, market, owner, cycle: _Cycle) -> list[Alert]:
        p = self.params
        key = (market, owner)
        cycles = self._cycles.setdefault(key, deque())
        cycles.append(cycle)
        while cycles and cycle.end - cycles[0].end > p.lookback:
            cycles.popleft()
        if len(self._used) > 50_000:
            horizon = cycle.at - p.lookback
            self._used = {k: v for k, v in self._used.items() if v >= horizon}
        if self._episodes.is_open(key, cycle.end):
            self._episodes.touch(key, cycle.end)
            return []
        # One strong cycle is enough; each further one raises the score (issue 17).
        best = max(c.score for c in cycles)
        score = min(1.0, best + p.repetition_bonus * (len(cycles) - 1))
        if score < p.alert_score:
            return []
        self._episodes.open(key, cycle.end)
        episode = list(cycles)
        cycles.clear()
        return [
            make_alert(
                typology=self.typology,
                market=market,
                accounts=set().union(*(c.accounts for c in episode)),
                start=min(c.at for c in episode),
                end=max(c.end for c in episode),
                score=score,
                order_ids=[i for c in episode for i in c.order_ids],
                trade_ids=[i for c in episode for i in c.trade_ids],
                reason=self.describe(episode, owner),
            )
        ]


def summarise(cycles: list[_Cycle]) -> dict:
    """Median figures of an episode's cycles, for the alert's reason."""
    first = cycles[0]
    return {
        "x_side": first.x_side,
        "y_side": opposite(first.x_side),
        "size": fmt_qty(statistics.median(c.size for c in cycles)),
        "ratio": statistics.median(float(c.size / c.genuine) for c in cycles),
        "depth": statistics.median(c.depth_share for c in cycles),
        "life": statistics.median(c.lifetime for c in cycles),
        "fill": statistics.median(c.fill_ratio for c in cycles),
        "cancelled": statistics.median(c.cancelled_share for c in cycles),
        "levels": statistics.median(c.levels for c in cycles),
        "modifications": statistics.median(c.modifications for c in cycles),
        "count": len(cycles),
        "span": max(c.end for c in cycles) - min(c.at for c in cycles),
    }
