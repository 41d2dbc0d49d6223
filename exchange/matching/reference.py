"""A deliberately naive order book with the same rules and events as ``OrderBook``.

Used only by the tests: it keeps every open order in plain lists and re-sorts them whenever it
needs the best one, so each rule reads almost like its sentence in the package docstring. Slow
is fine; obviously right is the point. Shares only the types, the events and the validation
rules with the fast book.
"""
# mypy: disable-error-code="operator,arg-type,type-var,misc"
# Why: this oracle (tests only) reads Order's optional fields (price, quantity, remaining) as the
# ints validate_order guarantees, so each rule reads like its sentence; narrowing every use would
# bury the rules it exists to state. The fast book (book.py) marks each such line instead.
from __future__ import annotations

from dataclasses import dataclass, replace

from exchange.matching.events import (
    Accepted,
    Amended,
    BookLevel,
    Cancelled,
    Event,
    Reason,
    Rejected,
    SelfTradePrevented,
    Trade,
    Triggered,
)
from exchange.matching.orders import Order, SelfTradePrevention, Side, TimeInForce
from exchange.matching.validation import validate_amend, validate_order

STP = Reason.SELF_TRADE_PREVENTION


@dataclass(eq=False)  # identity: two entries are never the same order
class _Entry:
    order: Order  # current price and (amended) quantity
    remaining: int | None  # open quantity; None for a stop buying by quote amount
    sequence: int  # arrival; smaller is older


class ReferenceBook:
    def __init__(self) -> None:
        self.resting: list[_Entry] = []
        self.stops: list[_Entry] = []
        self.last_price: int | None = None
        self._next_sequence = 0

    def _sequence(self) -> int:
        self._next_sequence += 1
        return self._next_sequence

    # ------------------------------------------------------------------ queries

    def _side_in_priority(self, side: Side) -> list[_Entry]:
        entries = [e for e in self.resting if e.order.side is side]
        if side is Side.BUY:
            return sorted(entries, key=lambda e: (-e.order.price, e.sequence))
        return sorted(entries, key=lambda e: (e.order.price, e.sequence))

    def _total_at(self, side: Side, price: int) -> int:
        return sum(e.remaining for e in self.resting if e.order.side is side and e.order.price == price)

    def depth(self, levels: int = 10) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        result = []
        for side in (Side.BUY, Side.SELL):
            prices: list[int] = []
            for entry in self._side_in_priority(side):
                if entry.order.price not in prices:
                    prices.append(entry.order.price)
            result.append([(p, self._total_at(side, p)) for p in prices[:levels]])
        return result[0], result[1]

    def open_orders(self) -> list[tuple[Order, int | None, bool]]:
        """(order, remaining, is_stop) in the same order as ``OrderBook.open_orders``."""
        rows = [(e.order, e.remaining, False) for e in self._side_in_priority(Side.BUY)]
        rows += [(e.order, e.remaining, False) for e in self._side_in_priority(Side.SELL)]
        rows += [(e.order, e.remaining, True) for e in sorted(self.stops, key=lambda e: e.sequence)]
        return rows

    def _find(self, order_id: object) -> _Entry | None:
        for entry in self.resting + self.stops:
            if entry.order.order_id == order_id:
                return entry
        return None

    def _would_trade(self, side: Side, price: int) -> bool:
        for entry in self.resting:
            if side is Side.BUY and entry.order.side is Side.SELL and entry.order.price <= price:
                return True
            if side is Side.SELL and entry.order.side is Side.BUY and entry.order.price >= price:
                return True
        return False

    @classmethod
    def restore(cls, snapshot: dict) -> ReferenceBook:
        """Load an ``OrderBook.snapshot()``: the listed order is the priority order."""
        book = cls()
        book.last_price = snapshot["last_price"]
        for data in (*snapshot["bids"], *snapshot["asks"]):
            book.resting.append(_Entry(Order.from_dict(data), data["remaining"], book._sequence()))
        for data in snapshot["stops"]:
            order = Order.from_dict(data)
            book.stops.append(_Entry(order, order.quantity, book._sequence()))
        return book

    # ------------------------------------------------------------------ commands

    def submit(self, order: Order) -> list[Event]:
        reason = validate_order(order)
        if reason is None and self._find(order.order_id) is not None:
            reason = Reason.DUPLICATE_ORDER_ID
        if reason is None and order.post_only and self._would_trade(order.side, order.price):
            reason = Reason.POST_ONLY_WOULD_TAKE
        if reason is not None:
            return [Rejected(order.order_id, order.account, "submit", reason)]
        events: list[Event] = [Accepted(order)]
        if order.stop_price is None:
            self._run(order, events)
        elif self.last_price is not None and self._stop_holds(order, self.last_price):
            self._run_triggered([(order, self.last_price)], events)
        else:
            self.stops.append(_Entry(order, order.quantity, self._sequence()))
        return events

    def cancel(self, order_id: int) -> list[Event]:
        entry = self._find(order_id)
        if entry is None:
            return [Rejected(order_id, None, "cancel", Reason.UNKNOWN_ORDER)]
        order = entry.order
        if entry in self.stops:
            self.stops.remove(entry)
            return [
                Cancelled(order_id, order.account, entry.remaining, Reason.CANCELLED_BY_USER, order.quote_quantity)
            ]
        self.resting.remove(entry)
        return [
            Cancelled(order_id, order.account, entry.remaining, Reason.CANCELLED_BY_USER),
            BookLevel(order.side, order.price, self._total_at(order.side, order.price)),
        ]

    def amend(self, order_id: int, quantity: int | None = None, price: int | None = None) -> list[Event]:
        entry = self._find(order_id)
        if entry is None:
            return [Rejected(order_id, None, "amend", Reason.UNKNOWN_ORDER)]
        old = entry.order
        reason = validate_amend(old, quantity, price)
        new_price = old.price if price is None else price
        moves = new_price != old.price
        if reason is None and entry in self.resting and old.post_only and moves and self._would_trade(old.side, new_price):
            reason = Reason.POST_ONLY_WOULD_TAKE
        if reason is not None:
            return [Rejected(order_id, old.account, "amend", reason)]
        new_quantity = entry.remaining if quantity is None else quantity
        keep = new_price == old.price and new_quantity <= entry.remaining
        events: list[Event] = [Amended(order_id, old.account, new_price, new_quantity, keep)]
        changed = new_quantity != entry.remaining
        entry.order = replace(old, price=new_price, quantity=new_quantity)
        entry.remaining = new_quantity
        if not keep:
            entry.sequence = self._sequence()  # to the back
        if entry in self.stops:
            return events
        if new_price == old.price:
            if changed:
                events.append(BookLevel(old.side, old.price, self._total_at(old.side, old.price)))
            return events
        self.resting.remove(entry)
        events.append(BookLevel(old.side, old.price, self._total_at(old.side, old.price)))
        self._run(entry.order, events, new_quantity)
        return events

    # ------------------------------------------------------------------ execution

    @staticmethod
    def _stop_holds(order: Order, price: int) -> bool:
        if order.side is Side.BUY:
            return price >= order.stop_price
        return price <= order.stop_price

    def _run(self, order: Order, events: list[Event], quantity: int | None = None) -> None:
        """Execute an incoming order, then every stop its trades trigger."""
        prices = self._execute(order, order.quantity if quantity is None else quantity, events)
        self._run_triggered(self._pop_triggered(prices), events)

    def _run_triggered(self, queue: list[tuple[Order, int]], events: list[Event]) -> None:
        while queue:
            order, trigger_price = queue.pop(0)
            events.append(Triggered(order.order_id, order.account, order.stop_price, trigger_price))
            prices = self._execute(order, order.quantity, events)
            queue += self._pop_triggered(prices)

    def _pop_triggered(self, prices: list[int]) -> list[tuple[Order, int]]:
        """Stops that any of ``prices`` triggers, oldest first, with the triggering price
        (for a buy stop the highest trade price, for a sell stop the lowest)."""
        if not prices:
            return []
        self.last_price = prices[-1]
        hit = []
        for entry in sorted(self.stops, key=lambda e: e.sequence):
            trigger = max(prices) if entry.order.side is Side.BUY else min(prices)
            if self._stop_holds(entry.order, trigger):
                hit.append((entry.order, trigger))
                self.stops.remove(entry)
        return hit

    def _fok_fillable(self, order: Order, quantity: int) -> bool:
        available = 0
        for maker in self._opposite_within_limit(order):
            if maker.order.account == order.account:
                if order.stp is SelfTradePrevention.CANCEL_OLDEST:
                    continue
                return False
            available += maker.remaining
            if available >= quantity:
                return True
        return False

    def _opposite_within_limit(self, order: Order) -> list[_Entry]:
        opposite = Side.SELL if order.side is Side.BUY else Side.BUY
        makers = self._side_in_priority(opposite)
        if order.price is None:
            return makers
        if order.side is Side.BUY:
            return [m for m in makers if m.order.price <= order.price]
        return [m for m in makers if m.order.price >= order.price]

    def _execute(self, order: Order, quantity: int | None, events: list[Event]) -> list[int]:
        """Match, then rest or cancel the remainder. Returns the trade prices in order."""
        account = order.account
        if order.tif is TimeInForce.FOK and not self._fok_fillable(order, quantity):
            events.append(Cancelled(order.order_id, account, quantity, Reason.FOK_NOT_FILLABLE))
            return []
        budget = order.quote_quantity
        prices: list[int] = []
        taker_cancelled = False
        while not taker_cancelled:
            makers = self._opposite_within_limit(order)
            if not makers:
                break
            price = makers[0].order.price
            if budget is not None:
                quantity = budget // price
            if quantity == 0:
                break
            at_level = [m for m in makers if m.order.price == price]
            level_side = at_level[0].order.side
            before = self._total_at(level_side, price)
            quantity_at_start = quantity
            for maker in at_level:
                if quantity == 0:
                    break
                if maker.order.account != account:
                    fill = min(quantity, maker.remaining)
                    events.append(
                        Trade(price, fill, maker.order.order_id, order.order_id, maker.order.account, account, order.side)
                    )
                    prices.append(price)
                    maker.remaining -= fill
                    quantity -= fill
                    continue
                mode = order.stp
                if mode is SelfTradePrevention.DECREMENT:
                    cut = min(quantity, maker.remaining)
                    events.append(SelfTradePrevented(order.order_id, maker.order.order_id, account, mode, cut))
                    maker.remaining -= cut
                    quantity -= cut
                    if maker.remaining == 0:
                        events.append(Cancelled(maker.order.order_id, account, 0, STP))
                    if quantity == 0:
                        taker_cancelled = True
                    continue
                events.append(SelfTradePrevented(order.order_id, maker.order.order_id, account, mode, 0))
                if mode is SelfTradePrevention.CANCEL_NEWEST:
                    taker_cancelled = True
                    break
                events.append(Cancelled(maker.order.order_id, account, maker.remaining, STP))
                maker.remaining = 0
                if mode is SelfTradePrevention.CANCEL_BOTH:
                    taker_cancelled = True
                    break
            self.resting = [e for e in self.resting if e.remaining > 0]
            after = self._total_at(level_side, price)
            if after != before:
                events.append(BookLevel(level_side, price, after))
            if budget is not None:
                budget -= (quantity_at_start - quantity) * price
        if budget is not None:
            quantity = None
        if taker_cancelled:
            events.append(Cancelled(order.order_id, account, quantity, STP, budget))
        elif budget is not None:
            if budget > 0:
                reason = Reason.BUDGET_EXHAUSTED if self._side_in_priority(Side.SELL) else Reason.NO_LIQUIDITY
                events.append(Cancelled(order.order_id, account, None, reason, budget))
        elif quantity > 0:
            if order.price is None:
                events.append(Cancelled(order.order_id, account, quantity, Reason.NO_LIQUIDITY))
            elif order.tif is not TimeInForce.GTC:
                events.append(Cancelled(order.order_id, account, quantity, Reason.IOC_REMAINDER))
            else:
                self.resting.append(_Entry(order, quantity, self._sequence()))
                events.append(BookLevel(order.side, order.price, self._total_at(order.side, order.price)))
        if prices:
            self.last_price = prices[-1]
        return prices
