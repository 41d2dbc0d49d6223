"""The fast book against the reference book on random command streams.

Both must emit identical event streams and hold identical depth and open orders after every
command, the events must explain the book exactly (``Observer``), and a book restored from a
snapshot taken anywhere in the stream must behave identically from then on.

``HYPOTHESIS_PROFILE=heavy`` runs many more and longer streams (a few minutes).
"""
from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from exchange.matching import Order, OrderBook, OrderType, SelfTradePrevention, Side, TimeInForce
from exchange.matching.reference import ReferenceBook
from tests.matching.invariants import Observer

settings.register_profile(
    "ci", max_examples=1_500, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "heavy", max_examples=20_000, stateful_step_count=120, deadline=None, suppress_health_check=list(HealthCheck)
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

# A narrow market so that orders meet: few prices, few accounts (self trades), small sizes.
prices = st.integers(min_value=96, max_value=104)
quantities = st.integers(min_value=1, max_value=8)
accounts = st.sampled_from(["a", "b", "c"])
stp_modes = st.sampled_from(list(SelfTradePrevention))


@st.composite
def orders(draw, order_id: int) -> Order:
    """Mostly valid orders of every type, TIF and STP mode; now and then an invalid one."""
    side = draw(st.sampled_from(list(Side)))
    kind = draw(st.sampled_from(list(OrderType)))
    account, stp = draw(accounts), draw(stp_modes)
    price = draw(prices) if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
    stop_price = draw(prices) if kind in (OrderType.STOP_LIMIT, OrderType.STOP_MARKET) else None
    quantity, quote_quantity = draw(quantities), None
    if price is None:
        tif = draw(st.sampled_from([TimeInForce.IOC, TimeInForce.IOC, TimeInForce.FOK]))
        if side is Side.BUY and tif is TimeInForce.IOC and draw(st.booleans()):
            quantity, quote_quantity = None, draw(st.integers(min_value=1, max_value=1_000))
    else:
        tif = draw(st.sampled_from([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK]))
    post_only = kind is OrderType.LIMIT and tif is TimeInForce.GTC and draw(st.integers(0, 4)) == 0
    order = Order(
        order_id=order_id, account=account, side=side, price=price, quantity=quantity, type=kind, tif=tif,
        post_only=post_only, stp=stp, stop_price=stop_price, quote_quantity=quote_quantity,
    )
    if draw(st.integers(0, 30)) == 0:  # break one field
        field, value = draw(
            st.sampled_from(
                [("price", None), ("price", 0), ("quantity", -1), ("quantity", None), ("tif", TimeInForce.GTC),
                 ("post_only", True), ("stop_price", 100), ("quote_quantity", 50), ("side", "up")]
            )
        )
        order = _with(order, **{field: value})
    return order


def _with(order: Order, **changes) -> Order:
    from dataclasses import replace

    return replace(order, **changes)


class BookComparison(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.fast = OrderBook()
        self.reference = ReferenceBook()
        self.observer = Observer()
        self.restored: OrderBook | None = None
        self.next_id = 1

    def _apply(self, command: str, *args, **kwargs) -> None:
        events = getattr(self.fast, command)(*args, **kwargs)
        expected = getattr(self.reference, command)(*args, **kwargs)
        assert events == expected
        for kind in {type(e).__name__ for e in events}:
            event(kind)  # shows in --hypothesis-show-statistics: proof that every path is exercised
        self.observer.apply(events)
        if self.restored is not None:
            assert getattr(self.restored, command)(*args, **kwargs) == events

    @rule(data=st.data())
    def submit(self, data) -> None:
        order_id = self.next_id
        if self.next_id > 1 and data.draw(st.integers(0, 20)) == 0:
            order_id = data.draw(st.integers(1, self.next_id - 1))  # a (maybe still open) old id
        else:
            self.next_id += 1
        self._apply("submit", data.draw(orders(order_id)))

    @rule(data=st.data())
    def cancel(self, data) -> None:
        self._apply("cancel", data.draw(st.integers(1, self.next_id)))

    @rule(data=st.data(), quantity=st.none() | quantities, price=st.none() | prices)
    def amend(self, data, quantity, price) -> None:
        self._apply("amend", data.draw(st.integers(1, self.next_id)), quantity=quantity, price=price)

    @rule()
    def snapshot_and_restore(self) -> None:
        snapshot = json.loads(json.dumps(self.fast.snapshot()))  # must survive JSON unchanged
        assert snapshot == self.fast.snapshot()
        self.restored = OrderBook.restore(snapshot)
        assert self.restored.snapshot() == snapshot
        # The reference loads the same snapshot: the format carries everything both books need.
        self.reference = ReferenceBook.restore(snapshot)

    @invariant()
    def books_agree(self) -> None:
        assert self.fast.depth(100) == self.reference.depth(100)
        rows = [(o.order, o.remaining, o.is_stop) for o in self.fast.open_orders()]
        assert rows == self.reference.open_orders()
        assert self.fast.last_price == self.reference.last_price
        self.observer.check(self.fast)
        if self.restored is not None:
            assert self.restored.snapshot() == self.fast.snapshot()


BookComparison.TestCase.settings = settings.get_profile(PROFILE)
TestBookComparison = BookComparison.TestCase
