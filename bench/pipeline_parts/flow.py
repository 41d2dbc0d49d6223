"""The order flow of phases A and B, and how it is written: through the real entry code.

Places go through ``exchange.trading.entry.orders_place_many`` (runs of places), cancels through
``exchange.trading.services.order_cancel``, all in ONE transaction, so that nothing is visible
to the idle matcher before the benchmark sends it. Entry XADDs each group's commands once it
commits; here that publication is held back and the ids are handed to the phase, which sends
them when its clock starts (at once for A, at a fixed rate for B).
"""
from __future__ import annotations

import contextlib
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from unittest import mock

from pipeline_parts.world import Trader


@dataclass
class Place:
    trader: Trader
    side: str
    order_type: str  # limit or market
    tif: str
    price_ticks: int | None
    lots: int | None
    quote_amount: Decimal | None
    order_id: int | None = None  # once entry placed it


@dataclass
class Cancel:
    target: Place


@dataclass
class Flow:
    """A reproducible stream of commands: limit orders around a random-walk mid, some priced
    through it, a few market orders, and cancels of recently placed live orders."""

    rng: random.Random
    traders: list[Trader]
    mid: int  # ticks
    cancel_ratio: float
    marketable_ratio: float
    market_ratio: float
    ioc_ratio: float
    live: list[Place] = field(default_factory=list)  # what a cancel may target (GTC limits)
    counts: Counter = field(default_factory=Counter)

    def lots(self) -> int:
        return max(10, min(5000, int(self.rng.lognormvariate(math.log(120), 0.9))))

    def commands(self, count: int) -> list[Place | Cancel]:
        out: list[Place | Cancel] = []
        rng = self.rng
        for _ in range(count):
            if self.live and rng.random() < self.cancel_ratio:
                # Cancels mostly hit recent orders (quotes being replaced), sometimes older ones.
                back = min(len(self.live) - 1, int(rng.expovariate(1 / 400)))
                index = len(self.live) - 1 - back
                self.live[index], self.live[-1] = self.live[-1], self.live[index]
                out.append(Cancel(self.live.pop()))
                self.counts["cancel"] += 1
                continue
            self.mid = max(1000, self.mid + round(rng.gauss(0, 1.5)))
            side = "buy" if rng.random() < 0.5 else "sell"
            sign = 1 if side == "buy" else -1
            trader = self.traders[rng.randrange(len(self.traders))]
            lots = self.lots()
            r = rng.random()
            if r < self.market_ratio:
                if side == "buy":
                    quote = (Decimal(self.mid * lots) / Decimal(1_000_000)).quantize(Decimal("0.01"))
                    out.append(Place(trader, side, "market", "ioc", None, None, quote))
                else:
                    out.append(Place(trader, side, "market", "ioc", None, lots, None))
                self.counts["market"] += 1
            elif r < self.market_ratio + self.marketable_ratio:
                price = self.mid + sign * rng.randint(1, 15)
                tif = "ioc" if rng.random() < self.ioc_ratio else "gtc"
                place = Place(trader, side, "limit", tif, price, lots, None)
                out.append(place)
                if tif == "gtc":
                    self.live.append(place)
                self.counts[f"marketable_{tif}"] += 1
            else:
                place = Place(trader, side, "limit", "gtc", self.mid - sign * (1 + int(rng.expovariate(1 / 30))), lots, None)
                out.append(place)
                self.live.append(place)
                self.counts["passive"] += 1
        return out


@contextlib.contextmanager
def publication_held():
    """Collect, instead of XADDing, the command ids that entry and ``order_cancel`` publish after
    their commit (in commit order)."""
    from exchange.trading import entry, services

    held: list[int] = []

    def hold(_symbol: str, command_ids: list[int]) -> None:
        held.extend(command_ids)

    with mock.patch.object(entry, "publish_commands", hold), mock.patch.object(services, "publish_commands", hold):
        yield held


def at_commit(count: int) -> list[datetime]:
    return [datetime.now(UTC)] * count


def write_commands(market, commands: list[Place | Cancel],
                   stamps: Callable[[int], list[datetime]] = at_commit) -> tuple[list[int], int]:
    """Write ``commands`` through the real entry code in one transaction; return their command
    ids, in order, and how many entry refused (none, with the benchmark's funds and settings).

    A run of places between two cancels is one ``orders_place_many`` group, each cancel one
    ``order_cancel``, in the flow's order: a command's id is its place in the order of
    application, which the matcher's relay and recovery rely on (writing every place first, in
    large groups, was twice as fast and left a matcher stuck on a double hold release).

    Right before the commit, each command's ``created_at`` is set to what ``stamps`` gives (A:
    the commit; B: the moment it is due to be XADDed), as a web process that commits right
    before its XADD leaves it: the matcher's relay republishes unapplied commands older than
    5 s, and would otherwise take the benchmark's held-back commands for lost ones."""
    from django.db import connection, transaction

    from exchange.trading.entry import PlaceRequest, orders_place_many
    from exchange.trading.services import order_cancel

    tick, lot, refused = market.tick_size, market.lot_size, 0
    group: list[Place] = []

    def flush() -> None:
        nonlocal refused
        requests = [PlaceRequest(
            user_id=p.trader.user_id, market=market.symbol, side=p.side, order_type=p.order_type,
            quantity=None if p.lots is None else p.lots * lot, price=None if p.price_ticks is None else p.price_ticks * tick,
            quote_amount=p.quote_amount, time_in_force=p.tif) for p in group]
        for place, result in zip(group, orders_place_many(requests), strict=True):
            if isinstance(result, Exception):
                refused += 1
            else:
                place.order_id = result.pk
        group.clear()

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM trading_command")
        before = cursor.fetchone()[0]
    with publication_held() as held, transaction.atomic():
        for command in commands:
            if isinstance(command, Place):
                group.append(command)
                continue
            flush()
            if command.target.order_id is not None:
                order_cancel(user=command.target.trader.user, order_id=command.target.order_id)
        flush()
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM trading_command WHERE id > %s AND market_id = %s ORDER BY id", [before, market.pk])
            ids = [r[0] for r in cursor.fetchall()]
            cursor.execute("""UPDATE trading_command c SET created_at = v.ts
                              FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, ts) WHERE c.id = v.id""",
                           [ids, stamps(len(ids))])
    if held != ids:
        raise RuntimeError("the held-back publication does not match the commands written")
    return ids, refused
