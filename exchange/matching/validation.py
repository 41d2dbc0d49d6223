"""Which field combinations make a valid order. Shared by the fast and the reference book.

The API layer checks the market's rules (tick, lot, notional, bands); this only refuses orders
the engine could not execute unambiguously:

- limit: ``price`` and ``quantity`` positive ints, any TIF;
- market: ``price`` None, IOC or FOK (market orders never rest), and exactly one of a positive
  ``quantity`` or, for a buy with IOC, a positive ``quote_quantity`` budget;
- stop-limit: like limit plus a positive ``stop_price``;
- stop-market: like market plus a positive ``stop_price``;
- ``post_only`` only on a GTC limit order (on anything else it cannot mean "add liquidity only").
"""
from __future__ import annotations

from exchange.matching.events import Reason
from exchange.matching.orders import Order, OrderType, SelfTradePrevention, Side, TimeInForce

# Enum members bound to module names: in CPython 3.11 ``OrderType.X`` costs ~0.2 us per lookup.
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
STOP_LIMIT, STOP_MARKET = OrderType.STOP_LIMIT, OrderType.STOP_MARKET
GTC, IOC = TimeInForce.GTC, TimeInForce.IOC
BUY = Side.BUY
INVALID_ORDER, INVALID_AMEND = Reason.INVALID_ORDER, Reason.INVALID_AMEND
_SIDES = frozenset(Side)
_TIFS = frozenset(TimeInForce)
_STPS = frozenset(SelfTradePrevention)


def _positive_int(value: object) -> bool:
    # ``type(...) is int`` also refuses bool, which is an int subclass.
    return type(value) is int and value > 0  # type: ignore[operator]


def validate_order(order: Order) -> Reason | None:
    """None if the book can execute ``order``, else the rejection reason."""
    kind = order.type
    if kind is LIMIT:  # the common case, checked without helper calls
        price, quantity = order.price, order.quantity
        if (
            type(price) is int
            and price > 0
            and type(quantity) is int
            and quantity > 0
            and order.stop_price is None
            and order.quote_quantity is None
            and order.side in _SIDES
            and order.tif in _TIFS
            and order.stp in _STPS
            and (order.post_only is False or (order.post_only is True and order.tif is GTC))
        ):
            return None
        return INVALID_ORDER
    if order.side not in _SIDES or order.tif not in _TIFS or order.stp not in _STPS or order.post_only is not False:
        return INVALID_ORDER
    if kind is STOP_LIMIT:
        ok = _positive_int(order.price) and _positive_int(order.quantity) and order.quote_quantity is None
    elif kind is MARKET or kind is STOP_MARKET:
        ok = order.price is None and order.tif is not GTC
        if order.quote_quantity is None:
            ok = ok and _positive_int(order.quantity)
        else:
            ok = (
                ok
                and order.quantity is None
                and _positive_int(order.quote_quantity)
                and order.side is BUY
                and order.tif is IOC
            )
    else:
        return INVALID_ORDER
    ok = ok and (order.stop_price is None if kind is MARKET else _positive_int(order.stop_price))
    return None if ok else INVALID_ORDER


def validate_amend(order: Order, quantity: int | None, price: int | None) -> Reason | None:
    """None if an open ``order`` may be amended to these values, else the rejection reason.

    ``quantity`` is the new open quantity; a stop buying by quote amount has none to amend, and
    only orders with a limit price can get a new price.
    """
    if quantity is None and price is None:
        return INVALID_AMEND
    if quantity is not None and (not _positive_int(quantity) or order.quantity is None):
        return INVALID_AMEND
    if price is not None and (not _positive_int(price) or order.price is None):
        return INVALID_AMEND
    return None
