"""A small price-time priority book that writes DESIGN 6.5 journal events.

The simulator's own matching, deliberately separate from `exchange.matching`: prices are integer
ticks and quantities integer lots inside, decimal strings in the events. Limit orders (GTC or
IOC) and market orders. Self-trade prevention is on per account (cancel newest, the exchange's
default) except for accounts in `stp_off`: firms that switched it off, whose trades with
themselves the wash-trading detector must judge.
"""

from __future__ import annotations

from bisect import insort
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

BUY, SELL = "buy", "sell"


@dataclass(slots=True)
class SimOrder:
    order_id: int
    account: str
    side: str
    price: int | None
    remaining: int


class Journal:
    """Collects events with a per-market sequence, in the order they happen."""

    def __init__(self):
        self.events: list[dict] = []
        self.positions: dict[str, int] = {}  # net lots per account, for the agents' own use
        self._seq: dict[str, int] = {}

    def emit(self, market: str, now: float, kind: str, **fields) -> dict:
        seq = self._seq.get(market, 0) + 1
        self._seq[market] = seq
        event = {"seq": seq, "ts": iso(now), "market": market, "type": kind, **fields}
        self.events.append(event)
        return event


def iso(ts: float) -> str:
    return datetime.fromtimestamp(round(ts, 6), UTC).isoformat(timespec="microseconds")


class SimBook:
    """One market's book. Every method takes `now` (epoch seconds) and writes to the journal."""

    def __init__(self, market: str, journal: Journal, *, tick: Decimal, lot: Decimal, ids):
        self.market = market
        self.journal = journal
        self.tick = tick
        self.lot = lot
        self._ids = ids  # shared counters: {"order": int, "trade": int}
        self.levels = {BUY: {}, SELL: {}}  # price -> deque[SimOrder]
        self.prices = {BUY: [], SELL: []}  # ascending
        self.orders: dict[int, SimOrder] = {}
        self.last_price: int | None = None
        self.stp_off: set[str] = set()
        self.on_trade = None  # optional callback(aggressor_side, lots)

    # -- reading ----------------------------------------------------------------------------
    def best(self, side: str) -> int | None:
        prices = self.prices[side]
        if not prices:
            return None
        return prices[-1] if side == BUY else prices[0]

    def depth(self, side: str, price: int) -> int:
        return sum(o.remaining for o in self.levels[side].get(price, ()))

    def price_str(self, ticks: int) -> str:
        return str(self.tick * ticks)

    def qty_str(self, lots: int) -> str:
        return str(self.lot * lots)

    # -- writing ----------------------------------------------------------------------------
    def submit(self, now: float, account: str, side: str, price: int | None, qty: int, tif: str = "gtc") -> int:
        """Accept an order, match what crosses, rest the remainder (GTC) or cancel it (IOC)."""
        self._ids["order"] += 1
        order = SimOrder(self._ids["order"], account, side, price, qty)
        self.journal.emit(
            self.market, now, "order_accepted", order_id=order.order_id, account=account, side=side,
            order_type="market" if price is None else "limit",
            price=None if price is None else self.price_str(price), quantity=self.qty_str(qty),
            tif="ioc" if price is None else tif,
        )
        prevented = self._match(now, order)
        if order.remaining > 0:
            if prevented:
                self.journal.emit(self.market, now, "order_cancelled", order_id=order.order_id, account=account,
                                  remaining=self.qty_str(order.remaining), reason="self_trade_prevention")
            elif price is None or tif == "ioc":
                self.journal.emit(self.market, now, "order_cancelled", order_id=order.order_id, account=account,
                                  remaining=self.qty_str(order.remaining), reason="ioc")
            else:
                self._rest(order)
        return order.order_id

    def cancel(self, now: float, order_id: int, reason: str = "user") -> bool:
        order = self.orders.pop(order_id, None)
        if order is None:
            return False
        self._unrest(order)
        self.journal.emit(self.market, now, "order_cancelled", order_id=order_id, account=order.account,
                          remaining=self.qty_str(order.remaining), reason=reason)
        return True

    def amend(self, now: float, order_id: int, *, price: int | None = None, qty: int | None = None) -> bool:
        """New open quantity and/or price; a new price or a larger quantity loses priority."""
        order = self.orders.get(order_id)
        if order is None:
            return False
        new_price = order.price if price is None else price
        new_qty = order.remaining if qty is None else qty
        keeps_priority = new_price == order.price and new_qty <= order.remaining
        if keeps_priority:
            order.remaining = new_qty
        else:
            self._unrest(order)
            order.price, order.remaining = new_price, new_qty
            self._rest(order)
        self.journal.emit(self.market, now, "order_amended", order_id=order_id, account=order.account,
                          price=self.price_str(new_price), quantity=self.qty_str(new_qty))
        if new_qty <= 0:
            self.orders.pop(order_id, None)
            self._unrest(order)
        return True

    def cancel_all(self, now: float, reason: str) -> None:
        for order_id in list(self.orders):
            self.cancel(now, order_id, reason)

    # -- internals ---------------------------------------------------------------------------
    def _match(self, now: float, taker: SimOrder) -> bool:
        """Match `taker`; True if self-trade prevention stopped it."""
        other = SELL if taker.side == BUY else BUY
        levels, prices = self.levels[other], self.prices[other]
        while taker.remaining > 0 and prices:
            best = prices[0] if other == SELL else prices[-1]
            if taker.price is not None and (best > taker.price if taker.side == BUY else best < taker.price):
                break
            queue = levels[best]
            while queue and taker.remaining > 0:
                maker = queue[0]
                if maker.account == taker.account and taker.account not in self.stp_off:
                    return True
                qty = min(maker.remaining, taker.remaining)
                maker.remaining -= qty
                taker.remaining -= qty
                self._trade(now, taker, maker, best, qty)
                if maker.remaining == 0:
                    queue.popleft()
                    self.orders.pop(maker.order_id, None)
            if not queue:
                del levels[best]
                prices.remove(best)
        return False

    def _trade(self, now: float, taker: SimOrder, maker: SimOrder, price: int, qty: int) -> None:
        self._ids["trade"] += 1
        buy, sell = (taker, maker) if taker.side == BUY else (maker, taker)
        self.last_price = price
        if self.on_trade is not None:
            self.on_trade(taker.side, qty)
        positions = self.journal.positions
        positions[buy.account] = positions.get(buy.account, 0) + qty
        positions[sell.account] = positions.get(sell.account, 0) - qty
        self.journal.emit(
            self.market, now, "trade", trade_id=self._ids["trade"], price=self.price_str(price), quantity=self.qty_str(qty),
            buy_order_id=buy.order_id, sell_order_id=sell.order_id, buyer=buy.account, seller=sell.account,
            aggressor=taker.side,
        )

    def _rest(self, order: SimOrder) -> None:
        levels = self.levels[order.side]
        queue = levels.get(order.price)
        if queue is None:
            queue = levels[order.price] = deque()
            insort(self.prices[order.side], order.price)
        queue.append(order)
        self.orders[order.order_id] = order

    def _unrest(self, order: SimOrder) -> None:
        levels = self.levels[order.side]
        queue = levels.get(order.price)
        if queue is None:
            return
        try:
            queue.remove(order)
        except ValueError:
            return
        if not queue:
            del levels[order.price]
            self.prices[order.side].remove(order.price)
