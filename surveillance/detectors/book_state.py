"""A light book state per market, rebuilt from the journal events.

Detectors need to know, at any event, the touch (best bid and ask), the visible depth per price
level, each order's life so far (size, fills, amendments, where it entered relative to the touch)
and who owns which account. This module keeps exactly that, from `order_accepted`,
`order_amended`, `order_cancelled`, `trade` and `account` events. Prices and quantities are
`Decimal`; time is the events' `ts` as epoch seconds (a float is fine for time).

Closed orders stay readable for `retention` seconds so that a detector looking at a cancel or a
fill can still see the order; after that they are dropped, which keeps memory flat in real time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from surveillance.baseline import MarketBaseline

ZERO = Decimal(0)
BUY = "buy"
SELL = "sell"


def opposite(side: str) -> str:
    return SELL if side == BUY else BUY


def parse_ts(text: str) -> float:
    """ISO-8601 (with `Z` or an offset) to epoch seconds."""
    return datetime.fromisoformat(text).timestamp()


def dec(value) -> Decimal | None:
    """A journal amount (a decimal string) as `Decimal`; never via float."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        raise TypeError("amounts must be decimal strings, not floats")
    return Decimal(value)


@dataclass(slots=True)
class OrderRecord:
    """What the journal told us about one order so far."""

    market: str
    order_id: object
    account: object
    side: str
    price: Decimal | None
    quantity: Decimal
    remaining: Decimal
    accepted_at: float
    order_type: str = "limit"
    filled: Decimal = ZERO
    amendments: int = 0
    closed_at: float | None = None
    cancelled: bool = False
    cancelled_qty: Decimal = ZERO
    # Where it entered: 0 = at or better than the own-side touch, n = n better levels in front.
    touch_levels: int | None = None
    # Its share of the own-side visible depth (top `depth_levels` levels, itself included).
    depth_share: float = 0.0
    # The owner's open quantity on the other side of this market when this order arrived.
    opposite_at_entry: Decimal = ZERO
    marketable: bool = False
    # For a marketable order: the quantity shown at the opposite touch when it arrived.
    touch_qty: Decimal = ZERO
    on_book: bool = False

    @property
    def live(self) -> bool:
        return self.closed_at is None

    @property
    def lifetime(self) -> float | None:
        return None if self.closed_at is None else self.closed_at - self.accepted_at


class Book:
    """Visible quantity per price level for one market, plus the last trade."""

    __slots__ = ("_ask_prices", "_bid_prices", "asks", "bids", "last_price", "last_trade_at")

    def __init__(self):
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self._bid_prices: list[Decimal] = []  # ascending
        self._ask_prices: list[Decimal] = []  # ascending
        self.last_price: Decimal | None = None
        self.last_trade_at: float | None = None

    def _side(self, side: str):
        return (self.bids, self._bid_prices) if side == BUY else (self.asks, self._ask_prices)

    def add(self, side: str, price: Decimal, qty: Decimal) -> None:
        levels, prices = self._side(side)
        if price in levels:
            levels[price] += qty
        else:
            levels[price] = qty
            insort(prices, price)

    def remove(self, side: str, price: Decimal, qty: Decimal) -> None:
        levels, prices = self._side(side)
        left = levels.get(price)
        if left is None:
            return
        left -= qty
        if left <= 0:
            del levels[price]
            i = bisect_left(prices, price)
            if i < len(prices) and prices[i] == price:
                del prices[i]
        else:
            levels[price] = left

    def best_bid(self) -> Decimal | None:
        return self._bid_prices[-1] if self._bid_prices else None

    def best_ask(self) -> Decimal | None:
        return self._ask_prices[0] if self._ask_prices else None

    def depth(self, side: str, levels: int) -> list[tuple[Decimal, Decimal]]:
        """[(price, quantity), ...] best first, at most `levels` levels."""
        book, prices = self._side(side)
        chosen = reversed(prices[-levels:]) if side == BUY else prices[:levels]
        return [(p, book[p]) for p in chosen]

    def visible(self, side: str, levels: int) -> Decimal:
        book, prices = self._side(side)
        chosen = prices[-levels:] if side == BUY else prices[:levels]
        return sum((book[p] for p in chosen), ZERO)

    def levels_ahead(self, side: str, price: Decimal) -> int:
        """Number of own-side price levels strictly better than `price` (0 = at the touch)."""
        _, prices = self._side(side)
        if side == BUY:
            return len(prices) - bisect_right(prices, price)
        return bisect_left(prices, price)

    def crosses(self, side: str, price: Decimal | None) -> bool:
        if side == BUY:
            ask = self.best_ask()
            return ask is not None and (price is None or price >= ask)
        bid = self.best_bid()
        return bid is not None and (price is None or price <= bid)


class MarketState:
    """Books, orders and owners for every market in the stream.

    `apply(event)` must see every event once, in journal order. Detectors read the state after
    the event has been applied: a cancelled or filled order is closed but still readable through
    `order()` for `retention` seconds.
    """

    def __init__(self, *, depth_levels: int = 10, retention: float = 900.0):
        self.depth_levels = depth_levels
        self.retention = retention
        self.books: dict[str, Book] = {}
        self.baselines: dict[str, MarketBaseline] = {}
        self.orders: dict[tuple, OrderRecord] = {}
        self.owners: dict = {}
        self._accounts_of: dict = {}
        # (market, account) -> {"buy": {order_id: record}, "sell": {...}} for live resting orders
        self._live: dict[tuple, dict[str, dict]] = {}
        # (market, account, side) -> open quantity of those orders
        self._live_qty: dict[tuple, Decimal] = {}
        self._closed: deque = deque()
        self.now: float = 0.0
        self.event_count = 0

    # -- reading --------------------------------------------------------------------------
    def book(self, market: str) -> Book:
        book = self.books.get(market)
        if book is None:
            book = self.books[market] = Book()
        return book

    def baseline(self, market: str) -> MarketBaseline:
        """The market's own volatility, spread and price step, learned from its trades so far."""
        baseline = self.baselines.get(market)
        if baseline is None:
            baseline = self.baselines[market] = MarketBaseline()
        return baseline

    def order(self, market: str, order_id) -> OrderRecord | None:
        return self.orders.get((market, order_id))

    def owner_of(self, account):
        """The beneficial owner (an account without an `account` event is its own owner)."""
        return self.owners.get(account, account)

    def accounts_of(self, owner) -> set:
        accounts = self._accounts_of.get(owner)
        return accounts if accounts is not None else {owner}

    def live_orders(self, market: str, account, side: str) -> dict:
        sides = self._live.get((market, account))
        return sides[side] if sides else {}

    def live_quantity(self, market: str, owner, side: str) -> Decimal:
        """Open quantity of all the owner's accounts on one side of one market."""
        live = self._live_qty
        return sum((live.get((market, account, side), ZERO) for account in self.accounts_of(owner)), ZERO)

    def _resting(self, record: OrderRecord, delta: Decimal) -> None:
        key = (record.market, record.account, record.side)
        self._live_qty[key] = self._live_qty.get(key, ZERO) + delta

    # -- applying -------------------------------------------------------------------------
    def apply(self, event: dict) -> None:
        self.now = parse_ts(event["ts"])
        self.event_count += 1
        kind = event.get("type")
        if kind == "order_accepted":
            self._accepted(event)
        elif kind == "trade":
            self._trade(event)
        elif kind == "order_cancelled":
            self._cancelled(event)
        elif kind == "order_amended":
            self._amended(event)
        elif kind == "account":
            self._account(event)
        if self._closed and self.now - self._closed[0][0] > self.retention:
            self._prune()

    def _account(self, event: dict) -> None:
        account, owner = event["account"], event.get("owner", event["account"])
        previous = self.owners.get(account)
        if previous is not None and previous in self._accounts_of:
            self._accounts_of[previous].discard(account)
        self.owners[account] = owner
        self._accounts_of.setdefault(owner, set()).add(account)

    def _accepted(self, event: dict) -> None:
        market = event["market"]
        book = self.book(market)
        side = event["side"]
        price = dec(event.get("price"))
        qty = dec(event["quantity"])
        record = OrderRecord(
            market=market,
            order_id=event["order_id"],
            account=event["account"],
            side=side,
            price=price,
            quantity=qty,
            remaining=qty,
            accepted_at=self.now,
            order_type=event.get("order_type", "limit"),
        )
        record.marketable = book.crosses(side, price)
        if record.marketable:
            touch = book.depth(opposite(side), 1)
            record.touch_qty = touch[0][1] if touch else ZERO
        if price is not None:
            record.opposite_at_entry = self.live_quantity(market, self.owner_of(record.account), opposite(side))
            record.touch_levels = 0 if record.marketable else book.levels_ahead(side, price)
            visible = book.visible(side, self.depth_levels)
            record.depth_share = float(qty / (visible + qty)) if qty > 0 else 0.0
            book.add(side, price, qty)
            record.on_book = True
            self._resting(record, qty)
            sides = self._live.get((market, record.account))
            if sides is None:
                sides = self._live[(market, record.account)] = {BUY: {}, SELL: {}}
            sides[side][record.order_id] = record
        self.orders[(market, record.order_id)] = record

    def _close(self, record: OrderRecord) -> None:
        record.closed_at = self.now
        if record.on_book:
            self.book(record.market).remove(record.side, record.price, record.remaining)
            self._resting(record, -record.remaining)
            record.on_book = False
        sides = self._live.get((record.market, record.account))
        if sides is not None:
            sides[record.side].pop(record.order_id, None)
        self._closed.append((self.now, (record.market, record.order_id)))

    def _trade(self, event: dict) -> None:
        market = event["market"]
        book = self.book(market)
        price, qty = dec(event["price"]), dec(event["quantity"])
        book.last_price = price
        book.last_trade_at = self.now
        self.baseline(market).on_trade(self.now, price, book.best_bid(), book.best_ask())
        for key in ("buy_order_id", "sell_order_id"):
            record = self.orders.get((market, event.get(key)))
            if record is None or record.closed_at is not None:
                continue
            fill = min(qty, record.remaining)
            record.filled += fill
            if record.on_book:
                book.remove(record.side, record.price, fill)
                self._resting(record, -fill)
            record.remaining -= fill
            if record.remaining <= 0:
                record.on_book = False  # level already reduced by the fill
                self._close(record)

    def _cancelled(self, event: dict) -> None:
        record = self.orders.get((event["market"], event["order_id"]))
        if record is None or record.closed_at is not None:
            return
        record.cancelled = True
        record.cancelled_qty = record.remaining
        self._close(record)

    def _amended(self, event: dict) -> None:
        record = self.orders.get((event["market"], event["order_id"]))
        if record is None or record.closed_at is not None:
            return
        book = self.book(record.market)
        new_price = dec(event.get("price")) if event.get("price") is not None else record.price
        new_qty = dec(event["quantity"]) if event.get("quantity") is not None else record.remaining
        if record.on_book:
            book.remove(record.side, record.price, record.remaining)
            book.add(record.side, new_price, new_qty)
            self._resting(record, new_qty - record.remaining)
        record.price = new_price
        record.quantity += new_qty - record.remaining
        record.remaining = new_qty
        record.amendments += 1
        if new_qty <= 0:
            self._close(record)

    def _prune(self) -> None:
        horizon = self.now - self.retention
        closed = self._closed
        orders = self.orders
        while closed and closed[0][0] < horizon:
            _, key = closed.popleft()
            record = orders.get(key)
            if record is not None and record.closed_at is not None:
                del orders[key]
