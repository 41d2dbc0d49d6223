"""An outside observer of the engine: it rebuilds the state of every order and of the book's
levels from the events alone, and checks the rules the events must obey on the way.

If the observer's picture ever differs from the book, some state change had no event, which
would break the order pipeline and the market-data feed that rely on exactly this.
"""
from __future__ import annotations

from exchange.matching import (
    Accepted,
    Amended,
    BookLevel,
    Cancelled,
    Order,
    OrderBook,
    Reason,
    Rejected,
    SelfTradePrevented,
    Side,
    TimeInForce,
    Trade,
    Triggered,
)


class Observer:
    def __init__(self) -> None:
        self.orders: dict[object, Order] = {}  # every accepted order, as last amended
        self.open: dict[object, int | None] = {}  # order_id -> open quantity (None: quote buy)
        self.budget: dict[object, int] = {}  # quote-amount buys: unspent budget
        self.waiting: set[object] = set()  # stops not yet triggered
        self.levels: dict[tuple[Side, int], int] = {}
        self.submitted = 0  # lots that entered the book's care, by submit or amend
        self.traded = 0  # lots that trades took off open quantities (both sides count)
        self.removed = 0  # lots cancelled or taken off by self-trade prevention

    def apply(self, events: list) -> None:
        """Apply one command's events, checking the per-event rules."""
        traded_by: dict[object, int] = {}
        for event in events:
            if isinstance(event, Accepted):
                order = event.order
                assert event.order_id not in self.open
                self.orders[order.order_id] = order
                self.open[order.order_id] = order.quantity
                if order.quote_quantity is not None:
                    self.budget[order.order_id] = order.quote_quantity
                if order.stop_price is not None:
                    self.waiting.add(order.order_id)
                elif order.quantity is not None:
                    self.submitted += order.quantity
            elif isinstance(event, Triggered):
                assert event.order_id in self.waiting
                order = self.orders[event.order_id]
                if order.side is Side.BUY:
                    assert event.trigger_price >= order.stop_price
                else:
                    assert event.trigger_price <= order.stop_price
                self.waiting.discard(event.order_id)
                if order.quantity is not None:
                    self.submitted += self.open[event.order_id]
            elif isinstance(event, Trade):
                maker, taker = self.orders[event.maker_order_id], self.orders[event.taker_order_id]
                assert event.quantity > 0
                assert event.price == maker.price, "a trade is at the maker's price"
                assert maker.side is not taker.side
                assert event.aggressor is taker.side
                assert event.maker_account == maker.account
                assert event.taker_account == taker.account
                assert maker.account != taker.account, "self-trade prevention let a self trade through"
                if taker.price is not None:
                    assert event.price <= taker.price if taker.side is Side.BUY else event.price >= taker.price
                assert not taker.post_only, "a post-only order took liquidity"
                self.traded += self._take(event.maker_order_id, event.quantity, event.price)
                self.traded += self._take(event.taker_order_id, event.quantity, event.price)
                traded_by[event.taker_order_id] = traded_by.get(event.taker_order_id, 0) + event.quantity
            elif isinstance(event, SelfTradePrevented):
                assert self.orders[event.maker_order_id].account == event.account
                assert self.orders[event.taker_order_id].account == event.account
                price = self.orders[event.maker_order_id].price
                self.removed += self._take(event.maker_order_id, event.quantity, price)
                self.removed += self._take(event.taker_order_id, event.quantity, price)
            elif isinstance(event, Cancelled):
                assert event.remaining == self.open[event.order_id]
                assert event.remaining_quote == self.budget.get(event.order_id)
                if event.reason is Reason.FOK_NOT_FILLABLE:
                    assert event.order_id not in traded_by
                if event.order_id not in self.waiting and event.remaining is not None:
                    self.removed += event.remaining
                self._close(event.order_id)
            elif isinstance(event, Amended):
                order = self.orders[event.order_id]
                if event.order_id not in self.waiting:
                    self.submitted += event.quantity - self.open[event.order_id]
                self.orders[event.order_id] = _replace(order, event.price, event.quantity)
                self.open[event.order_id] = event.quantity
            elif isinstance(event, BookLevel):
                if event.quantity:
                    self.levels[(event.side, event.price)] = event.quantity
                else:
                    self.levels.pop((event.side, event.price), None)
            else:
                assert isinstance(event, Rejected)
                assert len(events) == 1, "a rejection comes alone"
        for order_id, quantity in traded_by.items():
            order = self.orders[order_id]
            if order.tif is TimeInForce.FOK:
                assert quantity == order.quantity, "a FOK order filled partly"
        for order_id in [o for o, q in self.open.items() if o not in self.waiting and (q == 0 or o in self.budget)]:
            # Completely filled, or a quote-amount buy that spent its whole budget.
            assert self.budget.get(order_id, 0) == 0, "unspent budget without a Cancelled event"
            self._close(order_id)

    def _take(self, order_id: object, quantity: int, price: int) -> int:
        """Take ``quantity`` at ``price`` off an order; returns the lots taken off its open quantity."""
        if order_id in self.budget:
            self.budget[order_id] -= quantity * price
            assert self.budget[order_id] >= 0, "a quote-amount buy overspent"
            return 0
        self.open[order_id] -= quantity
        assert self.open[order_id] >= 0
        return quantity

    def _close(self, order_id: object) -> None:
        self.open.pop(order_id)
        self.budget.pop(order_id, None)
        self.waiting.discard(order_id)

    def check(self, book: OrderBook) -> None:
        """The book holds exactly what the events said, and is in a legal state."""
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is None or ask is None or bid < ask, "crossed book"
        bids, asks = book.depth(10**9)
        expected = {(Side.BUY, p): q for p, q in bids} | {(Side.SELL, p): q for p, q in asks}
        assert self.levels == expected, "BookLevel events do not add up to the book's depth"
        assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
        assert [p for p, _ in asks] == sorted(p for p, _ in asks)
        held = {}
        for open_order in book.open_orders():
            held[open_order.order.order_id] = (open_order.remaining, open_order.is_stop)
        assert held == {o: (q, o in self.waiting) for o, q in self.open.items()}, "open orders differ from the events"
        resting = sum(q for q, is_stop in held.values() if not is_stop)
        assert resting == sum(expected.values())
        assert resting == self.submitted - self.traded - self.removed, "quantity not conserved"
        assert len(book) == len(held)


def _replace(order: Order, price: int | None, quantity: int | None) -> Order:
    from dataclasses import replace

    return replace(order, price=price, quantity=quantity)
