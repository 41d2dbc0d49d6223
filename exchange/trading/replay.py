"""Replay a market's applied commands through a fresh engine and compare with what was stored.

The matcher's apply step is pure, so replaying the same commands, in the order they were
applied, must reproduce the journal event for event (and so every hash), every fill, and the
book that the open orders in PostgreSQL describe. Any difference is a bug or tampering.
"""
from dataclasses import dataclass, field
from decimal import Decimal

import orjson
from django.db import connection

from exchange.markets.models import Market
from exchange.matching import OrderBook
from exchange.trading.matcher.apply import BatchApplier
from exchange.trading.matcher.journal import GENESIS, chain_hash
from exchange.trading.matcher.persist import ORDER_COLUMNS
from exchange.trading.matcher.recovery import market_context, rebuild
from exchange.trading.matcher.state import CommandRow, OrderState


@dataclass
class ReplayReport:
    market: str
    commands: int = 0
    events: int = 0
    fills: int = 0
    problems: list[str] = field(default_factory=list)


def _as_placed(order: dict) -> dict:
    """The order row as it was when placed: the matcher has changed it since."""
    placed = dict(order)
    terms = placed.pop("placed_terms", None)  # an amended order's own terms (``services.order_amend``)
    if isinstance(terms, str | bytes):
        terms = orjson.loads(terms)
    if terms:
        placed.update(price=Decimal(terms["price"]), quantity=Decimal(terms["quantity"]))
    placed.update(status="pending", open_quantity=placed["quantity"], filled_quantity=0, filled_notional=0,
                  fees_paid=0, priority=None, is_waiting_stop=False, hold_remaining=order["hold_amount"])
    if order["order_type"] in ("limit", "stop_limit"):
        placed["engine_price"] = placed["price"]
    return placed


def applied_commands(market_id: int) -> list[CommandRow]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT c.id, c.kind, c.payload, c.created_at, c.market_id, {ORDER_COLUMNS},
                       (SELECT a.payload->'placed' FROM trading_command a WHERE a.order_id = o.id AND a.kind = 'amend'
                        ORDER BY a.id LIMIT 1) AS placed_terms
                FROM trading_command c
                LEFT JOIN trading_order o ON o.id = c.order_id
                LEFT JOIN ledger_ledgeraccount la ON la.user_id = o.user_id
                WHERE c.market_id = %s AND c.applied_sequence IS NOT NULL
                ORDER BY c.applied_position""",
            [market_id],
        )
        names = [col.name for col in cursor.description][5:]
        rows = []
        for record in cursor.fetchall():
            payload = record[2] if isinstance(record[2], dict) else orjson.loads(record[2])
            order = _as_placed(dict(zip(names, record[5:], strict=True))) if record[5] is not None else None
            rows.append(CommandRow(record[0], record[1], payload, record[3], False, order, record[4]))
        return rows


def _stored_journal(market_id: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequence, event_type, payload, hash FROM trading_journalevent WHERE market_id = %s ORDER BY sequence",
            [market_id],
        )
        return [(s, t, p if isinstance(p, dict) else orjson.loads(p), h) for s, t, p, h in cursor.fetchall()]


def _stored_fills(market_id: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT sequence, price, quantity, buy_order_id, sell_order_id, buyer_fee, seller_fee
               FROM trading_fill WHERE market_id = %s ORDER BY sequence""",
            [market_id],
        )
        return [tuple(r) for r in cursor.fetchall()]


def verify_market(market: Market) -> ReplayReport:
    report = ReplayReport(market.symbol)
    problems = report.problems
    stored = _stored_journal(market.pk)
    previous = GENESIS
    for sequence, event_type, payload, digest in stored:
        expected = chain_hash(previous, event_type, sequence, payload)
        if expected != digest:
            problems.append(f"journal #{sequence} ({event_type}): hash does not follow from the previous one")
            break
        previous = digest

    ctx = market_context(market)
    ctx.sequence, ctx.last_hash, ctx.status, ctx.last_price, ctx.applied_commands = 0, GENESIS, "trading", None, 0
    orders: dict[int, OrderState]
    book, orders = OrderBook(), {}
    commands = applied_commands(market.pk)
    journal, fills = [], []
    for command in commands:  # one command per batch: batching must not change the outcome
        plan = BatchApplier(ctx, book, orders).apply([command])
        journal.extend(plan.journal)
        fills.extend(plan.fills)
        for state in plan.orders.values():
            state.dirty = False
    report.commands, report.events, report.fills = len(commands), len(journal), len(fills)

    replayed = [(seq, etype, orjson.loads(orjson.dumps(payload)), digest) for seq, etype, payload, digest, _ in journal]
    if len(replayed) != len(stored):
        problems.append(f"journal has {len(stored)} events, the replay gives {len(replayed)}")
    for ours, theirs in zip(replayed, stored, strict=False):
        if ours != theirs:
            problems.append(f"journal #{theirs[0]}: stored {theirs[1]} {theirs[2]} but replay gives {ours[1]} {ours[2]}")
            break
    replay_fills = [(f[0], f[1], f[2], f[3], f[4], f[8], f[9]) for f in fills]
    if [_norm(f) for f in replay_fills] != [_norm(f) for f in _stored_fills(market.pk)]:
        problems.append(f"fills differ: stored {len(_stored_fills(market.pk))}, replay {len(replay_fills)}")
    _, stored_book, _ = rebuild(market)
    if book.depth(10_000) != stored_book.depth(10_000):
        problems.append("the book rebuilt from open orders differs from the replayed book")
    _compare_orders(orders, market, problems)
    return report


def _norm(row: tuple) -> tuple:
    return tuple(Decimal(v).normalize() if isinstance(v, Decimal) else v for v in row)


def _compare_orders(replayed: dict[int, OrderState], market: Market, problems: list[str]) -> None:
    from exchange.trading.models import Order

    for order in Order.objects.filter(market=market).exclude(status="pending").only(
        "id", "status", "filled_quantity", "open_quantity", "hold_remaining", "engine_price"
    ):
        state = replayed.get(order.pk)
        if state is None:
            problems.append(f"order {order.pk} is {order.status} but the replay never applied it")
            continue
        if (state.status, state.filled_quantity) != (order.status, order.filled_quantity):
            problems.append(
                f"order {order.pk}: stored {order.status} filled {order.filled_quantity}, "
                f"replay {state.status} filled {state.filled_quantity}"
            )
        elif order.status == "open" and (state.open_quantity, state.engine_price) != (order.open_quantity,
                                                                                      order.engine_price):
            # What an amend changes: the replayed order must rest with the same terms.
            problems.append(
                f"order {order.pk}: stored open {order.open_quantity} at {order.engine_price}, "
                f"replay open {state.open_quantity} at {state.engine_price}"
            )
