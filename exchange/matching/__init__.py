"""The matching engine: one order book per market, pure and deterministic.

No Django, no I/O, no clock: the same commands always give the same events. Prices are integer
ticks and quantities integer lots.

    book = OrderBook()
    events = book.submit(Order(order_id=1, account="a1", side=Side.BUY, price=10_000, quantity=5))
    events = book.amend(order_id=1, quantity=3)   # the new open quantity; smaller keeps priority
    events = book.cancel(order_id=1)
    bids, asks = book.depth(10)                   # [(price, total_quantity), ...], best first

Rules
-----
- Price-time priority; every trade is at the resting (maker) order's price.
- Limit orders: GTC rests its remainder, IOC cancels it, FOK fills completely at once or is
  cancelled without touching the book. Post-only (GTC limit only) is rejected if it would
  trade on arrival, never repriced.
- Market orders (``price=None``, IOC or FOK) never rest: by ``quantity``, or, for a buy,
  by ``quote_quantity`` (a budget in tick-lots: fills spend ``sum(price * lots) <= budget``).
  What cannot fill is cancelled with reason ``no_liquidity`` (the other side ran out) or
  ``budget_exhausted`` (the budget cannot pay for one more lot).
- Stop orders wait outside the book (not in depth). A buy stop triggers when a trade prints at
  or above its stop price, a sell stop at or below. A stop whose condition already holds
  against the last trade price on arrival triggers at once. Triggered stops execute as market
  (stop-market) or limit (stop-limit) orders behind everything already in the book, oldest
  stop first; stops their trades trigger run after them, in the same way, until none is left.
- Self-trade prevention by account, in the incoming order's mode: ``cancel_newest``
  (default) cancels the incoming order, ``cancel_oldest`` the resting one (the incoming one goes
  on matching), ``cancel_both`` both, ``decrement`` takes the smaller quantity off both and
  cancels whichever reaches 0. A FOK order counts as fillable only with what it can reach before
  one of its own account's resting orders (which ``cancel_oldest`` skips).
- Amend: keeping the price and not raising the open quantity keeps priority; a higher
  quantity or a new price sends the order to the back. A new price that crosses trades at once
  like a new order (a post-only order's amend is rejected instead). A waiting stop can be
  amended too (its quantity, and a stop-limit's limit price); losing priority then means going
  behind the other stops.
- Commands never raise on bad input: they return ``Rejected`` with a ``Reason``.
  Order ids must be unique among open orders.

Event order of one command
--------------------------
- submit: ``Rejected`` alone; or ``Accepted``, then the execution below.
- execution of an incoming (or triggered, or re-priced) order: for each price level it reaches,
  the ``Trade`` / ``SelfTradePrevented`` events in queue order (a resting order cancelled by
  self-trade prevention gets its ``Cancelled`` right after the ``SelfTradePrevented``), then one
  ``BookLevel`` for that level if its total changed. Then the incoming order's own end:
  ``Cancelled`` (self-trade prevention, IOC remainder, no liquidity, budget exhausted, FOK not
  fillable: in that case without any trade) or a ``BookLevel`` for the level it now rests in.
  Then the triggered stops, each as ``Triggered`` followed by its own execution.
- a stop that does not trigger on arrival: ``Accepted`` only.
- cancel: ``Cancelled``, then ``BookLevel`` (none for a waiting stop); or ``Rejected``.
- amend: ``Rejected``; or ``Amended``, then ``BookLevel`` of the old level if its total changed,
  and, after a new price, the execution of the order at its new price.
"""
from exchange.matching.book import OrderBook
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
from exchange.matching.orders import (
    OpenOrder,
    Order,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
)

__all__ = [
    "Accepted",
    "Amended",
    "BookLevel",
    "Cancelled",
    "Event",
    "OpenOrder",
    "Order",
    "OrderBook",
    "OrderType",
    "Reason",
    "Rejected",
    "SelfTradePrevented",
    "SelfTradePrevention",
    "Side",
    "TimeInForce",
    "Trade",
    "Triggered",
]
