"""Replay real Nasdaq order-by-order data (LOBSTER format) through ``OrderBook``.

    python bench/lobster_replay.py [DIR]     # default: ../shared/data/lobster beside the repo

How (see the data's README): seed the book from the first book line with one synthetic order
per level, then apply message 2 onwards: 1 = new limit order, 2 = partial cancel (amend down),
3 = delete (cancel), 4 = execution of a visible order (replayed as an IOC order of that size on
the other side at the resting price; it must hit exactly the order the message names), 5 and 7
(hidden execution, halt) leave the visible book alone. After each message the best bid and
offer (price and size) are compared with the file's book line.

Two figures: a straight replay from the first line, and a re-seeded one, where before each
message the visible levels are made to agree with the previous book line: orders the replay
knows stay where they are, and what the file shows beyond them (orders from before the file
started) becomes one synthetic order at the front of the level. The file names only the top 10
levels, so a straight replay drifts when a level changes while it is out of sight.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exchange.matching import Order, OrderBook, Side, TimeInForce, Trade

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "lobster"
EMPTY_LEVEL = 9_999_999_999  # LOBSTER's dummy price for a level that does not exist
SEED_ACCOUNT, TAKER_ACCOUNT = "seed", "taker"

Levels = list[tuple[int, int]]  # (price, size), best first


@dataclass(frozen=True)
class Message:
    kind: int
    order_id: int
    size: int
    price: int
    side: Side  # of the order the message is about (for executions: the resting order)


@dataclass(frozen=True)
class ReplayResult:
    messages: int  # messages applied and compared (all but the seeding one)
    bbo_agreed: int
    known_executions: int  # type 4 messages naming an order the replay has seen arrive
    exact_hits: int  # ... that traded with exactly that order, for exactly its size
    other_executions: int  # type 4 messages naming an order from before the file started

    @property
    def bbo_agreement(self) -> float:
        return self.bbo_agreed / self.messages

    @property
    def exact_hit_share(self) -> float:
        return self.exact_hits / self.known_executions if self.known_executions else 1.0


def load(directory: Path) -> tuple[list[Message], list[tuple[Levels, Levels]]]:
    """The messages and, line for line, the book after each as (bids, asks)."""
    message_file = next(directory.glob("*_message_*.csv"))
    book_file = next(directory.glob("*_orderbook_*.csv"))
    with message_file.open(newline="") as f:
        messages = [
            Message(int(kind), int(order_id), int(size), int(price), Side.BUY if direction == "1" else Side.SELL)
            for _, kind, order_id, size, price, direction in csv.reader(f)
        ]
    books = []
    with book_file.open(newline="") as f:
        for row in csv.reader(f):
            values = [int(v) for v in row]
            asks = [(values[i], values[i + 1]) for i in range(0, len(values), 4) if abs(values[i]) != EMPTY_LEVEL]
            bids = [(values[i + 2], values[i + 3]) for i in range(0, len(values), 4) if abs(values[i + 2]) != EMPTY_LEVEL]
            books.append((bids, asks))
    if len(messages) != len(books):
        raise ValueError(f"{len(messages)} messages but {len(books)} book lines")
    return messages, books


class Replayer:
    """Applies messages to an ``OrderBook``, keeping the synthetic orders that stand for what
    rested before the file started."""

    def __init__(self, bids: Levels, asks: Levels) -> None:
        self.book = OrderBook()
        self._synthetic_ids = itertools.count(-1, -1)
        self.reseed(bids, asks)

    def _synthetic(self, side: Side, price: int, size: int) -> dict:
        order = Order(order_id=next(self._synthetic_ids), account=SEED_ACCOUNT, side=side, price=price, quantity=size)
        return {**order.to_dict(), "remaining": size}

    def reseed(self, bids: Levels, asks: Levels) -> None:
        """Make the visible levels hold exactly ``bids`` / ``asks``: known orders stay in their
        places, a synthetic order at the front of each level makes up the rest, and orders at
        prices the file shows empty go. Levels beyond the 10th shown stay as they are."""
        snapshot = self.book.snapshot()
        for key, side, levels in (("bids", Side.BUY, bids), ("asks", Side.SELL, asks)):
            shown = dict(levels)
            worst_shown = levels[-1][0] if len(levels) >= 10 else None
            better = (lambda p, w=worst_shown: w is None or p >= w) if side is Side.BUY else (
                lambda p, w=worst_shown: w is None or p <= w)
            kept: dict[int, list[dict]] = {}
            for entry in snapshot[key]:
                price = entry["price"]
                if better(price) and (price not in shown or entry["order_id"] < 0):
                    continue  # hidden from the file's view, or a synthetic order to be remade
                kept.setdefault(price, []).append(entry)
            for price, size in levels:
                known = sum(entry["remaining"] for entry in kept.get(price, []))
                if size > known:
                    kept[price] = [self._synthetic(side, price, size - known), *kept.get(price, [])]
            prices = sorted(kept, reverse=side is Side.BUY)
            snapshot[key] = [entry for price in prices for entry in kept[price]]
        self.book = OrderBook.restore(snapshot)

    def _reduce(self, message: Message) -> None:
        """Take ``size`` off the order the message names, or, for an order from before the file,
        off the synthetic order standing for it at that price."""
        order_id = message.order_id
        if self.book.get_order(order_id) is None:
            order_id = next(
                (o.order.order_id for o in self.book.open_orders()
                 if o.order.order_id < 0 and o.order.side is message.side and o.order.price == message.price),
                None,
            )
            if order_id is None:
                return
        remaining = self.book.get_order(order_id).remaining
        if (message.kind == 3 and order_id == message.order_id) or remaining <= message.size:
            self.book.cancel(order_id)
        else:
            self.book.amend(order_id, quantity=remaining - message.size)

    def apply(self, message: Message) -> bool | None:
        """Apply one message. For an execution of a known order: did it hit exactly that order?"""
        if message.kind == 1:
            self.book.submit(Order(order_id=message.order_id, account=message.order_id, side=message.side,
                                   price=message.price, quantity=message.size))
        elif message.kind in (2, 3):
            self._reduce(message)
        elif message.kind == 4:
            known = self.book.get_order(message.order_id) is not None
            taker_side = Side.SELL if message.side is Side.BUY else Side.BUY
            events = self.book.submit(Order(order_id=f"x{message.order_id}", account=TAKER_ACCOUNT, side=taker_side,
                                            price=message.price, quantity=message.size, tif=TimeInForce.IOC))
            trades = [(e.maker_order_id, e.quantity) for e in events if isinstance(e, Trade)]
            return trades == [(message.order_id, message.size)] if known else None
        return None

    def best(self) -> tuple[Levels, Levels]:
        bids, asks = self.book.depth(1)
        return bids, asks


def replay(directory: Path = DEFAULT_DIR, reseed: bool = False) -> ReplayResult:
    messages, books = load(directory)
    replayer = Replayer(*books[0])
    agreed = known = exact = other = 0
    for index in range(1, len(messages)):
        if reseed:
            replayer.reseed(*books[index - 1])
        hit = replayer.apply(messages[index])
        if messages[index].kind == 4:
            if hit is None:
                other += 1
            else:
                known += 1
                exact += hit
        bids, asks = books[index]
        agreed += replayer.best() == (bids[:1], asks[:1])
    return ReplayResult(len(messages) - 1, agreed, known, exact, other)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    for label, reseed in (("straight replay", False), ("re-seeded from the previous book line", True)):
        result = replay(args.directory, reseed=reseed)
        print(f"{label}:")
        print(f"  best bid/offer agree on {result.bbo_agreed}/{result.messages} messages ({result.bbo_agreement:.2%})")
        print(
            f"  executions of known orders that hit exactly that order: {result.exact_hits}/{result.known_executions}"
            f" ({result.exact_hit_share:.2%}); executions of orders from before the file: {result.other_executions}"
        )


if __name__ == "__main__":
    main()
