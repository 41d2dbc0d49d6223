"""The resting side of the fast book: price levels and the orders queued in them.

Each price level is an intrusive doubly-linked list of resting orders, oldest first, so that
matching takes from the head, a new order joins at the tail and a cancel unlinks any order in
O(1), without the holes a deque or dict would leave behind. A side keeps its prices in a sorted
list with the best price LAST (bids ascending, asks stored negated), so the common changes
(a new best level, the best level emptied) are appends and pops at the end of the list.
"""
from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator

from exchange.matching.orders import Order, Side


class RestingOrder:
    """One order resting in a level. ``remaining`` is its open quantity (always > 0)."""

    __slots__ = ("account", "level", "next", "order", "order_id", "prev", "remaining")

    def __init__(self, order: Order, remaining: int, level: PriceLevel) -> None:
        self.order = order
        self.order_id = order.order_id
        self.account = order.account
        self.remaining = remaining
        self.level = level
        self.prev: RestingOrder | None = None
        self.next: RestingOrder | None = None


class PriceLevel:
    """All resting orders at one price on one side, in time priority, with their total."""

    __slots__ = ("head", "price", "side", "tail", "total")

    def __init__(self, side: Side, price: int) -> None:
        self.side = side
        self.price = price
        self.total = 0
        self.head: RestingOrder | None = None
        self.tail: RestingOrder | None = None

    def append(self, resting: RestingOrder) -> None:
        """Queue ``resting`` behind every order already at this price."""
        tail = self.tail
        resting.prev = tail
        resting.next = None
        if tail is None:
            self.head = resting
        else:
            tail.next = resting
        self.tail = resting
        self.total += resting.remaining

    def unlink(self, resting: RestingOrder) -> None:
        """Take ``resting`` out of the queue; the caller adjusts ``total``."""
        prev, nxt = resting.prev, resting.next
        if prev is None:
            self.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            self.tail = prev
        else:
            nxt.prev = prev

    def __iter__(self) -> Iterator[RestingOrder]:
        resting = self.head
        while resting is not None:
            yield resting
            resting = resting.next


class PriceLadder:
    """The price levels of one side. ``keys`` holds the prices sorted with the best one last
    (asks are stored negated so that the lowest ask sorts last)."""

    __slots__ = ("keys", "levels", "side", "sign")

    def __init__(self, side: Side) -> None:
        self.side = side
        self.sign = 1 if side is Side.BUY else -1
        self.levels: dict[int, PriceLevel] = {}
        self.keys: list[int] = []

    def best_price(self) -> int | None:
        keys = self.keys
        return keys[-1] * self.sign if keys else None

    def add_level(self, price: int) -> PriceLevel:
        """A new, empty level at ``price`` (the side has none there yet)."""
        level = self.levels[price] = PriceLevel(self.side, price)
        key = price * self.sign
        keys = self.keys
        if not keys or key > keys[-1]:
            keys.append(key)  # a new best price: the common case near the touch
        else:
            insort(keys, key)
        return level

    def remove(self, level: PriceLevel) -> None:
        """Drop an emptied level."""
        del self.levels[level.price]
        key = level.price * self.sign
        keys = self.keys
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    def depth(self, count: int) -> list[tuple[int, int]]:
        """The best ``count`` levels as (price, total quantity), best first."""
        levels, sign = self.levels, self.sign
        return [(key * sign, levels[key * sign].total) for key in self.keys[: -count - 1 : -1]]

    def in_priority(self) -> Iterator[PriceLevel]:
        """Levels from the best price outwards."""
        levels, sign = self.levels, self.sign
        for key in reversed(self.keys):
            yield levels[key * sign]
