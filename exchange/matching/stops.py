"""Stop orders waiting for their trigger, outside the visible book.

Trigger priority is arrival order (a sequence number), whatever the stop prices: when one
command's trades trigger several stops, they execute oldest first. Each side is a list sorted by
(stop_price, sequence) so that the triggered stops are found by bisection: buy stops trigger when
the trade price rises to their stop price (a prefix of the list), sell stops when it falls to it
(a suffix).
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from math import inf

from exchange.matching.orders import Order, Side


class StopBook:
    __slots__ = ("_buys", "_next_sequence", "_sells", "by_id")

    def __init__(self) -> None:
        # order_id -> (sequence, order); read-only outside this class
        self.by_id: dict[int, tuple[int, Order]] = {}
        self._buys: list[tuple[int, int, int]] = []  # (stop_price, sequence, order_id)
        self._sells: list[tuple[int, int, int]] = []
        self._next_sequence = 0

    def __len__(self) -> int:
        return len(self.by_id)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self.by_id

    def get(self, order_id: int) -> Order | None:
        entry = self.by_id.get(order_id)
        return None if entry is None else entry[1]

    def add(self, order: Order) -> None:
        """Queue ``order`` behind every stop already waiting."""
        sequence = self._next_sequence
        self._next_sequence = sequence + 1
        self.by_id[order.order_id] = (sequence, order)
        side = self._buys if order.side is Side.BUY else self._sells
        insort(side, (order.stop_price, sequence, order.order_id))  # type: ignore[misc]  # a stop order has a stop price

    def remove(self, order_id: int) -> Order | None:
        """Take a waiting stop out; None if there is none with this id."""
        entry = self.by_id.pop(order_id, None)
        if entry is None:
            return None
        sequence, order = entry
        side = self._buys if order.side is Side.BUY else self._sells
        del side[bisect_left(side, (order.stop_price, sequence))]
        return order

    def replace(self, order: Order, keep_priority: bool) -> None:
        """Swap in the amended ``order``; without ``keep_priority`` it goes behind all others."""
        if keep_priority:
            sequence, _ = self.by_id[order.order_id]
            self.by_id[order.order_id] = (sequence, order)
        else:
            self.remove(order.order_id)
            self.add(order)

    def pop_triggered(self, low: int, high: int) -> list[tuple[Order, int]]:
        """Remove and return, oldest first, the stops that trades between ``low`` and ``high``
        trigger, each with the trade price that triggered it."""
        by_id = self.by_id
        triggered: list[tuple[int, Order, int]] = []
        buys = self._buys
        if buys and buys[0][0] <= high:
            cut = bisect_right(buys, (high, inf))
            triggered.extend((seq, by_id.pop(oid)[1], high) for _, seq, oid in buys[:cut])
            del buys[:cut]
        sells = self._sells
        if sells and sells[-1][0] >= low:
            cut = bisect_left(sells, (low,))
            triggered.extend((seq, by_id.pop(oid)[1], low) for _, seq, oid in sells[cut:])
            del sells[cut:]
        triggered.sort(key=_sequence)
        return [(order, price) for _, order, price in triggered]

    def __iter__(self) -> Iterator[Order]:
        """Waiting stops in trigger priority (arrival order)."""
        for _, order in sorted(self.by_id.values(), key=_sequence):
            yield order


def _sequence(entry: tuple) -> int:
    return entry[0]
