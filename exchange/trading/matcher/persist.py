"""Read a batch's commands and write its plan: ONE transaction, bulk statements only.

Rows are inserted with COPY; balances get one UPDATE per touched (account, asset), after
locking those rows in (account, asset) order, the same order the entry services use, so the
matcher and order entry never deadlock. Orders get one UPDATE statement for the whole batch,
with their hold changed by a relative amount so that entry and matcher never overwrite each
other.
"""
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

import orjson
from django.db import connection
from django.utils import timezone

from exchange.marketdata.services import candles_record
from exchange.trading.matcher.state import BatchPlan, CommandRow, MarketContext

ORDER_COLUMNS = (
    "o.id, o.user_id, la.id AS account_id, o.side, o.order_type, o.time_in_force, o.post_only, o.stp, o.price, "
    "o.stop_price, o.quantity, o.quote_amount, o.engine_price, o.open_quantity, o.filled_quantity, o.filled_notional, "
    "o.fees_paid, o.hold_remaining, o.status, o.priority, o.is_waiting_stop"
)


def load_commands(command_ids: list[int]) -> dict[int, CommandRow]:
    """The commands with these ids (unknown ids are absent), with their orders' columns."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT c.id, c.kind, c.payload, c.created_at, c.applied_sequence IS NOT NULL, c.market_id, {ORDER_COLUMNS}
                FROM trading_command c
                LEFT JOIN trading_order o ON o.id = c.order_id
                LEFT JOIN ledger_ledgeraccount la ON la.user_id = o.user_id
                WHERE c.id = ANY(%s)""",
            [command_ids],
        )
        names = [col.name for col in cursor.description][6:]
        rows = {}
        for record in cursor.fetchall():
            payload = record[2] if isinstance(record[2], dict) else orjson.loads(record[2])
            order = dict(zip(names, record[6:], strict=True)) if record[6] is not None else None
            rows[record[0]] = CommandRow(record[0], record[1], payload, record[3], record[4], order, record[5])
        return rows


def _copy(cursor, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _next_ids(cursor, sequence: str, count: int) -> list[int]:
    cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
    return [r[0] for r in cursor.fetchall()]


def _apply_balances(cursor, plan: BatchPlan) -> None:
    deltas: dict[tuple[int, int], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for _, _, postings in plan.entries:
        for p in postings:
            deltas[(p.account_id, p.asset_id)][0 if p.bucket == "available" else 1] += p.amount
    if not deltas:
        return
    keys = sorted(deltas)
    accounts = [k[0] for k in keys]
    assets = [k[1] for k in keys]
    cursor.execute(
        """INSERT INTO ledger_balance (account_id, asset_id, available, held, is_system, updated_at)
           SELECT v.account_id, v.asset_id, 0, 0, la.kind <> 'user', now()
           FROM unnest(%s::bigint[], %s::bigint[]) AS v(account_id, asset_id)
           JOIN ledger_ledgeraccount la ON la.id = v.account_id
           ORDER BY 1, 2 ON CONFLICT (account_id, asset_id) DO NOTHING""",
        [accounts, assets],
    )
    cursor.execute(
        """SELECT b.id FROM ledger_balance b
           JOIN unnest(%s::bigint[], %s::bigint[]) AS v(account_id, asset_id)
             ON b.account_id = v.account_id AND b.asset_id = v.asset_id
           ORDER BY b.account_id, b.asset_id FOR UPDATE OF b""",
        [accounts, assets],
    )
    cursor.execute(
        """UPDATE ledger_balance b SET available = b.available + v.da, held = b.held + v.dh, updated_at = now()
           FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[], %s::numeric[]) AS v(account_id, asset_id, da, dh)
           WHERE b.account_id = v.account_id AND b.asset_id = v.asset_id""",
        [accounts, assets, [deltas[k][0] for k in keys], [deltas[k][1] for k in keys]],
    )


def order_columns(plan: BatchPlan) -> list[list] | None:
    """The batch's order changes as the columns of one UPDATE, copied now: the order states
    go on changing in the batches planned while this one commits."""
    states = sorted(plan.orders.values(), key=lambda s: s.order_id)
    if not states:
        return None
    return [
        [s.order_id for s in states], [s.status for s in states], [s.open_quantity for s in states],
        [s.filled_quantity for s in states], [s.filled_notional for s in states], [s.fees_paid for s in states],
        [s.hold_delta for s in states], [s.cancel_reason for s in states], [s.priority for s in states],
        [s.is_waiting_stop for s in states], [s.engine_price for s in states],
    ]


def _apply_orders(cursor, columns: list[list] | None) -> None:
    if not columns:
        return
    cursor.execute(
        """UPDATE trading_order o SET status = v.status, open_quantity = v.open_quantity,
               filled_quantity = v.filled_quantity, filled_notional = v.filled_notional, fees_paid = v.fees_paid,
               hold_remaining = o.hold_remaining + v.hold_delta, cancel_reason = v.cancel_reason,
               priority = v.priority, is_waiting_stop = v.is_waiting_stop, engine_price = v.engine_price,
               updated_at = now()
           FROM unnest(%s::bigint[], %s::text[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[],
                       %s::numeric[], %s::text[], %s::bigint[], %s::boolean[], %s::numeric[])
             AS v(id, status, open_quantity, filled_quantity, filled_notional, fees_paid, hold_delta, cancel_reason,
                  priority, is_waiting_stop, engine_price)
           WHERE o.id = v.id""",
        columns,
    )


@dataclass(slots=True)
class BatchWrite:
    """One batch's writes, detached from the matcher's live state so that it can commit on the
    writer's thread while the next batch is planned: a copy of the market context as of the end
    of the batch, the plan (whose rows never change once planned) and the order columns."""

    ctx: MarketContext
    plan: BatchPlan
    orders: list[list] | None
    stream_id: str
    owner: str

    @classmethod
    def capture(cls, ctx: MarketContext, plan: BatchPlan, *, stream_id: str, owner: str) -> "BatchWrite":
        return cls(replace(ctx), plan, order_columns(plan), stream_id, owner)


def write_plan(write: BatchWrite) -> None:
    """Write everything in ``write``; the caller holds the transaction open around this."""
    ctx, plan = write.ctx, write.plan
    now = timezone.now()
    with connection.cursor() as cursor:
        if plan.entries:
            entry_ids = _next_ids(cursor, "ledger_ledgerentry_id_seq", len(plan.entries))
            _copy(cursor, "ledger_ledgerentry", ("id", "kind", "reference", "memo", "created_at"),
                  [(eid, kind, ref, "", now) for eid, (kind, ref, _) in zip(entry_ids, plan.entries, strict=True)])
            _copy(cursor, "ledger_posting", ("entry_id", "account_id", "asset_id", "bucket", "amount", "hold"),
                  [(eid, p.account_id, p.asset_id, p.bucket, p.amount, p.hold)
                   for eid, (_, _, postings) in zip(entry_ids, plan.entries, strict=True) for p in postings])
            _apply_balances(cursor, plan)
        _copy(cursor, "trading_fill",
              ("market_id", "sequence", "price", "quantity", "buy_order_id", "sell_order_id", "buyer_id", "seller_id",
               "aggressor", "buyer_fee", "seller_fee", "created_at"),
              [(ctx.market_id, *fill) for fill in plan.fills])
        _copy(cursor, "trading_journalevent", ("market_id", "sequence", "event_type", "payload", "hash", "created_at"),
              [(ctx.market_id, seq, etype, orjson.dumps(payload).decode(), digest, ts)
               for seq, etype, payload, digest, ts in plan.journal])
        _apply_orders(cursor, write.orders)
        if plan.commands:
            cursor.execute(
                """UPDATE trading_command c SET applied_sequence = v.seq, applied_position = v.pos
                   FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, seq, pos) WHERE c.id = v.id""",
                [[c for c, _, _ in plan.commands], [s for _, s, _ in plan.commands], [p for _, _, p in plan.commands]],
            )
        cursor.execute(
            """UPDATE trading_matcherstate SET last_sequence = %s, last_hash = %s, applied_commands = %s,
                   last_stream_id = %s, owner = %s, heartbeat_at = %s WHERE market_id = %s""",
            [ctx.sequence, ctx.last_hash, ctx.applied_commands, write.stream_id, write.owner, now, ctx.market_id],
        )
        if plan.fills or plan.status_changed:
            cursor.execute(
                "UPDATE markets_market SET last_price = %s, status = %s, updated_at = %s WHERE id = %s",
                [ctx.last_price, ctx.status, now, ctx.market_id],
            )
    candles_record(ctx, plan)
