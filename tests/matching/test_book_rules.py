"""Each rule of the engine on a small hand-made example, against both books."""
from __future__ import annotations

import json

import pytest

from exchange.matching import (
    Accepted,
    Amended,
    BookLevel,
    Cancelled,
    Order,
    OrderBook,
    OrderType,
    Reason,
    Rejected,
    SelfTradePrevented,
    SelfTradePrevention,
    Side,
    TimeInForce,
    Trade,
    Triggered,
)
from exchange.matching.reference import ReferenceBook

BUY, SELL = Side.BUY, Side.SELL
IOC, FOK = TimeInForce.IOC, TimeInForce.FOK


@pytest.fixture(params=[OrderBook, ReferenceBook], ids=["fast", "reference"])
def book(request):
    return request.param()


def limit(order_id, side, price, quantity, account="a", **kw) -> Order:
    return Order(order_id=order_id, account=account, side=side, price=price, quantity=quantity, **kw)


def market(order_id, side, quantity, account="t", **kw) -> Order:
    kw.setdefault("tif", IOC)
    return Order(order_id=order_id, account=account, side=side, price=None, quantity=quantity, type=OrderType.MARKET, **kw)


def trades(events) -> list[tuple[int, int, int]]:
    return [(e.maker_order_id, e.price, e.quantity) for e in events if isinstance(e, Trade)]


def test_limit_rests_and_reports_its_level(book):
    order = limit(1, BUY, 100, 5)
    assert book.submit(order) == [Accepted(order), BookLevel(BUY, 100, 5)]
    assert book.depth(10) == ([(100, 5)], [])


def test_price_then_time_priority_and_maker_price(book):
    book.submit(limit(1, SELL, 101, 2, account="m1"))
    book.submit(limit(2, SELL, 100, 2, account="m2"))
    book.submit(limit(3, SELL, 100, 2, account="m3"))
    events = book.submit(limit(4, BUY, 102, 5, account="t"))
    assert trades(events) == [(2, 100, 2), (3, 100, 2), (1, 101, 1)]
    assert events[-3:] == [BookLevel(SELL, 100, 0), Trade(101, 1, 1, 4, "m1", "t", BUY), BookLevel(SELL, 101, 1)]
    assert book.depth(10) == ([], [(101, 1)])


def test_ioc_remainder_is_cancelled_and_gtc_remainder_rests(book):
    book.submit(limit(1, SELL, 100, 2, account="m"))
    events = book.submit(limit(2, BUY, 100, 5, tif=IOC))
    assert events[-1] == Cancelled(2, "a", 3, Reason.IOC_REMAINDER)
    book.submit(limit(3, SELL, 100, 2, account="m"))
    events = book.submit(limit(4, BUY, 100, 5))
    assert events[-1] == BookLevel(BUY, 100, 3)


def test_fok_fills_completely_or_leaves_no_trace(book):
    book.submit(limit(1, SELL, 100, 2, account="m"))
    book.submit(limit(2, SELL, 101, 2, account="m"))
    killed = limit(3, BUY, 101, 5, tif=FOK)
    assert book.submit(killed) == [Accepted(killed), Cancelled(3, "a", 5, Reason.FOK_NOT_FILLABLE)]
    assert book.depth(10) == ([], [(100, 2), (101, 2)])
    events = book.submit(limit(4, BUY, 101, 4, tif=FOK))
    assert trades(events) == [(1, 100, 2), (2, 101, 2)]
    assert book.depth(10) == ([], [])


def test_post_only_is_rejected_when_it_would_take(book):
    book.submit(limit(1, SELL, 100, 2, account="m"))
    events = book.submit(limit(2, BUY, 100, 1, post_only=True))
    assert events == [Rejected(2, "a", "submit", Reason.POST_ONLY_WOULD_TAKE)]
    assert book.submit(limit(3, BUY, 99, 1, post_only=True))[-1] == BookLevel(BUY, 99, 1)


def test_market_order_without_liquidity_is_cancelled(book):
    order = market(1, BUY, 3)
    assert book.submit(order) == [Accepted(order), Cancelled(1, "t", 3, Reason.NO_LIQUIDITY)]
    assert book.depth(10) == ([], [])


def test_market_order_never_rests(book):
    book.submit(limit(1, SELL, 100, 2, account="m"))
    events = book.submit(market(2, BUY, 5))
    assert trades(events) == [(1, 100, 2)]
    assert events[-1] == Cancelled(2, "t", 3, Reason.NO_LIQUIDITY)
    assert book.depth(10) == ([], [])


def test_market_buy_by_quote_amount_spends_at_most_its_budget(book):
    book.submit(limit(1, SELL, 100, 3, account="m"))
    book.submit(limit(2, SELL, 120, 10, account="m"))
    order = Order(order_id=3, account="t", side=BUY, price=None, quantity=None, type=OrderType.MARKET, tif=IOC,
                  quote_quantity=600)
    events = book.submit(order)
    assert trades(events) == [(1, 100, 3), (2, 120, 2)]  # 300 + 240 = 540 <= 600
    assert events[-1] == Cancelled(3, "t", None, Reason.BUDGET_EXHAUSTED, remaining_quote=60)


@pytest.mark.parametrize(
    ("mode", "expected_tail", "depth_after"),
    [
        (SelfTradePrevention.CANCEL_NEWEST,
         [SelfTradePrevented(9, 1, "a", SelfTradePrevention.CANCEL_NEWEST, 0),
          Cancelled(9, "a", 5, Reason.SELF_TRADE_PREVENTION)],
         [(100, 5)]),
        (SelfTradePrevention.CANCEL_OLDEST,
         [SelfTradePrevented(9, 1, "a", SelfTradePrevention.CANCEL_OLDEST, 0),
          Cancelled(1, "a", 2, Reason.SELF_TRADE_PREVENTION),
          Trade(100, 3, 2, 9, "b", "a", BUY), BookLevel(SELL, 100, 0),
          Cancelled(9, "a", 2, Reason.IOC_REMAINDER)],
         []),
        (SelfTradePrevention.CANCEL_BOTH,
         [SelfTradePrevented(9, 1, "a", SelfTradePrevention.CANCEL_BOTH, 0),
          Cancelled(1, "a", 2, Reason.SELF_TRADE_PREVENTION),
          BookLevel(SELL, 100, 3), Cancelled(9, "a", 5, Reason.SELF_TRADE_PREVENTION)],
         [(100, 3)]),
        (SelfTradePrevention.DECREMENT,
         [SelfTradePrevented(9, 1, "a", SelfTradePrevention.DECREMENT, 2),
          Cancelled(1, "a", 0, Reason.SELF_TRADE_PREVENTION),
          Trade(100, 3, 2, 9, "b", "a", BUY), BookLevel(SELL, 100, 0)],
         []),
    ],
)
def test_self_trade_prevention_modes(book, mode, expected_tail, depth_after):
    book.submit(limit(1, SELL, 100, 2, account="a"))
    book.submit(limit(2, SELL, 100, 3, account="b"))
    order = limit(9, BUY, 100, 5, account="a", tif=IOC, stp=mode)
    events = book.submit(order)
    assert events == [Accepted(order), *expected_tail]
    assert book.depth(10)[1] == depth_after


def test_decrement_reduces_the_larger_order_and_cancels_the_smaller(book):
    book.submit(limit(1, SELL, 100, 5, account="a"))
    events = book.submit(limit(2, BUY, 100, 2, account="a", stp=SelfTradePrevention.DECREMENT))
    assert events[1:] == [
        SelfTradePrevented(2, 1, "a", SelfTradePrevention.DECREMENT, 2),
        BookLevel(SELL, 100, 3),
        Cancelled(2, "a", 0, Reason.SELF_TRADE_PREVENTION),
    ]
    assert book.depth(10) == ([], [(100, 3)])


@pytest.mark.parametrize(
    ("mode", "fillable"),
    [(SelfTradePrevention.CANCEL_OLDEST, True), (SelfTradePrevention.CANCEL_NEWEST, False),
     (SelfTradePrevention.CANCEL_BOTH, False), (SelfTradePrevention.DECREMENT, False)],
)
def test_fok_counts_only_what_it_reaches_before_its_own_orders(book, mode, fillable):
    book.submit(limit(1, SELL, 100, 2, account="m"))
    book.submit(limit(2, SELL, 100, 2, account="a"))
    book.submit(limit(3, SELL, 101, 5, account="m"))
    events = book.submit(limit(4, BUY, 101, 4, tif=FOK, stp=mode))
    if fillable:
        assert trades(events) == [(1, 100, 2), (3, 101, 2)]
        assert Cancelled(2, "a", 2, Reason.SELF_TRADE_PREVENTION) in events
    else:
        assert events[1:] == [Cancelled(4, "a", 4, Reason.FOK_NOT_FILLABLE)]
        assert book.depth(10) == ([], [(100, 4), (101, 5)])
        # Filled before reaching its own order: fillable whatever the mode.
        assert trades(book.submit(limit(5, BUY, 100, 1, tif=FOK, stp=mode))) == [(1, 100, 1)]


def test_amend_down_keeps_priority_up_or_new_price_loses_it(book):
    book.submit(limit(1, SELL, 100, 5, account="m1"))
    book.submit(limit(2, SELL, 100, 5, account="m2"))
    assert book.amend(1, quantity=4) == [Amended(1, "m1", 100, 4, True), BookLevel(SELL, 100, 9)]
    assert trades(book.submit(market(3, BUY, 1))) == [(1, 100, 1)]
    assert book.amend(1, quantity=6) == [Amended(1, "m1", 100, 6, False), BookLevel(SELL, 100, 11)]
    assert trades(book.submit(market(4, BUY, 1))) == [(2, 100, 1)]
    book.amend(2, price=101)
    book.amend(2, price=100)  # back at 100, but behind order 1 now
    assert trades(book.submit(market(5, BUY, 7))) == [(1, 100, 6), (2, 100, 1)]


def test_amend_to_a_crossing_price_trades_like_a_new_order(book):
    book.submit(limit(1, SELL, 101, 2, account="m"))
    book.submit(limit(2, BUY, 99, 5, account="t"))
    events = book.amend(2, price=101)
    assert events == [
        Amended(2, "t", 101, 5, False), BookLevel(BUY, 99, 0),
        Trade(101, 2, 1, 2, "m", "t", BUY), BookLevel(SELL, 101, 0), BookLevel(BUY, 101, 3),
    ]


def test_cancel_and_amend_of_unknown_or_finished_orders_are_rejected(book):
    assert book.cancel(7) == [Rejected(7, None, "cancel", Reason.UNKNOWN_ORDER)]
    assert book.amend(7, quantity=1) == [Rejected(7, None, "amend", Reason.UNKNOWN_ORDER)]
    book.submit(limit(1, SELL, 100, 1, account="m"))
    book.submit(market(2, BUY, 1))
    assert book.cancel(1) == [Rejected(1, None, "cancel", Reason.UNKNOWN_ORDER)]
    book.submit(limit(3, SELL, 100, 1, account="m"))
    assert book.amend(3, quantity=0) == [Rejected(3, "m", "amend", Reason.INVALID_AMEND)]


@pytest.mark.parametrize(
    "order",
    [
        Order(order_id=1, account="a", side=BUY, price=None, quantity=1),  # limit without price
        Order(order_id=1, account="a", side=BUY, price=100, quantity=0),
        Order(order_id=1, account="a", side=BUY, price=100, quantity=True),
        Order(order_id=1, account="a", side=BUY, price=None, quantity=1, type=OrderType.MARKET),  # GTC market
        Order(order_id=1, account="a", side=SELL, price=None, quantity=None, type=OrderType.MARKET, tif=IOC,
              quote_quantity=100),  # quote amount is for buys
        Order(order_id=1, account="a", side=BUY, price=100, quantity=1, tif=IOC, post_only=True),
        Order(order_id=1, account="a", side=BUY, price=100, quantity=1, type=OrderType.STOP_LIMIT),  # no stop
    ],
)
def test_invalid_orders_are_rejected_without_raising(book, order):
    assert book.submit(order) == [Rejected(1, "a", "submit", Reason.INVALID_ORDER)]


def test_duplicate_open_order_id_is_rejected(book):
    book.submit(limit(1, BUY, 99, 1))
    assert book.submit(limit(1, BUY, 98, 1)) == [Rejected(1, "a", "submit", Reason.DUPLICATE_ORDER_ID)]


def test_stops_trigger_on_trades_oldest_first_and_cascade(book):
    for order_id, price in ((1, 100), (2, 101), (3, 102), (4, 103)):
        book.submit(limit(order_id, SELL, price, 1, account="m"))
    stop_high = Order(order_id=10, account="s", side=BUY, price=None, quantity=1, type=OrderType.STOP_MARKET,
                      tif=IOC, stop_price=101)
    stop_low = Order(order_id=11, account="s", side=BUY, price=None, quantity=1, type=OrderType.STOP_MARKET,
                     tif=IOC, stop_price=100)
    assert book.submit(stop_high) == [Accepted(stop_high)]
    book.submit(stop_low)
    assert book.depth(10)[0] == []  # stops are not in the book
    events = book.submit(market(20, BUY, 1))  # trades at 100: triggers stop 11 only
    triggered = [e for e in events if isinstance(e, Triggered)]
    # 11 trades at 101, which triggers 10, which trades at 102.
    assert triggered == [Triggered(11, "s", 100, 100), Triggered(10, "s", 101, 101)]
    assert trades(events) == [(1, 100, 1), (2, 101, 1), (3, 102, 1)]
    assert book.last_price == 102


def test_stop_whose_condition_already_holds_triggers_on_arrival(book):
    book.submit(limit(1, SELL, 100, 2, account="m"))
    book.submit(market(2, BUY, 1))
    stop = Order(order_id=3, account="s", side=BUY, price=100, quantity=1, type=OrderType.STOP_LIMIT, stop_price=99)
    assert book.submit(stop) == [
        Accepted(stop), Triggered(3, "s", 99, 100), Trade(100, 1, 1, 3, "m", "s", BUY), BookLevel(SELL, 100, 0),
    ]


def test_cancel_a_waiting_stop(book):
    stop = Order(order_id=3, account="s", side=SELL, price=None, quantity=4, type=OrderType.STOP_MARKET, tif=IOC,
                 stop_price=90)
    book.submit(stop)
    assert book.cancel(3) == [Cancelled(3, "s", 4, Reason.CANCELLED_BY_USER)]


def test_snapshot_is_json_and_restores_the_same_behaviour():
    book = OrderBook()
    book.submit(limit(1, SELL, 101, 2, account="m1"))
    book.submit(limit(2, SELL, 101, 3, account="m2"))
    book.submit(limit(3, BUY, 99, 3, account="b"))
    book.submit(Order(order_id=4, account="s", side=SELL, price=None, quantity=1, type=OrderType.STOP_MARKET,
                      tif=IOC, stop_price=98))
    snapshot = json.loads(json.dumps(book.snapshot()))
    copy = OrderBook.restore(snapshot)
    assert copy.snapshot() == book.snapshot()
    assert len(copy) == len(book) == 4
    follow_up = market(5, BUY, 4)
    assert copy.submit(follow_up) == book.submit(follow_up)
    assert [o.order.order_id for o in copy.open_orders()] == [3, 2, 4]


def test_open_orders_in_priority_order():
    book = OrderBook()
    book.submit(limit(1, BUY, 99, 1))
    book.submit(limit(2, BUY, 100, 1))
    book.submit(limit(3, BUY, 99, 1))
    book.submit(limit(4, SELL, 102, 1))
    book.submit(limit(5, SELL, 101, 1))
    assert [o.order.order_id for o in book.open_orders()] == [2, 1, 3, 5, 4]
    assert book.get_order(3).remaining == 1
    assert book.get_order(42) is None
    assert (book.best_bid(), book.best_ask()) == (100, 101)
