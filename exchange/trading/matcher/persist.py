"""Read a batch's commands, and write a planned batch: ONE transaction, bulk statements only.

The ledger's rows go through the ledger's bulk API (``exchange.ledger.bulk``: entries and postings
by COPY, balances locked in the entry services' order and updated in one statement); fills and
journal events by COPY. Orders get one UPDATE statement for the whole batch, with their hold
changed by a relative amount so that entry and matcher never overwrite each other. What is
sent is built beforehand, on the matcher's thread (``batchwrite.py``).
"""
from datetime import datetime

import orjson
from django.db import connection

from exchange.infra.pgtext import copy_rows
from exchange.ledger.bulk import ledger_batch_write
from exchange.trading.matcher.batchwrite import BatchWrite
from exchange.trading.matcher.state import CommandRow

ORDER_COLUMNS = (
    "o.id, o.user_id, la.id AS account_id, o.side, o.order_type, o.time_in_force, o.post_only, o.stp, o.price, "
    "o.stop_price, o.quantity, o.quote_amount, o.engine_price, o.open_quantity, o.filled_quantity, o.filled_notional, "
    "o.fees_paid, o.hold_remaining, o.hold_amount, o.status, o.priority, o.is_waiting_stop"
)


def parse_timestamptz(text: str) -> datetime:
    """PostgreSQL's text form of a timestamptz (the session runs in UTC) as an aware datetime.

    ``fromisoformat`` is C; the driver's timestamptz loader, wrapped by Django's time-zone
    loader, cost more than a third of loading a batch."""
    return datetime.fromisoformat(text)


def load_commands(command_ids: list[int]) -> dict[int, CommandRow]:
    """The commands with these ids (unknown ids are absent), with their orders' columns."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT c.id, c.kind, c.payload, c.created_at::text, c.applied_sequence IS NOT NULL, c.market_id, {ORDER_COLUMNS}
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
            rows[record[0]] = CommandRow(record[0], record[1], payload, parse_timestamptz(record[3]), record[4], order,
                                         record[5])
        return rows


def write_plan(write: BatchWrite) -> None:
    """Send everything in ``write``; the caller holds the transaction open around this."""
    ctx = write.ctx
    with connection.cursor() as cursor:
        ledger_batch_write(cursor, write.ledger)
        copy_rows(cursor, "trading_fill", "market_id, sequence, price, quantity, buy_order_id, sell_order_id, buyer_id, "
                                          "seller_id, aggressor, buyer_fee, seller_fee, created_at", write.fills)
        copy_rows(cursor, "trading_journalevent", "market_id, sequence, event_type, payload, hash, created_at", write.journal)
        if write.orders:
            cursor.execute(
                """UPDATE trading_order o SET status = v.status, open_quantity = v.open_quantity,
                       filled_quantity = v.filled_quantity, filled_notional = v.filled_notional, fees_paid = v.fees_paid,
                       hold_remaining = o.hold_remaining + v.hold_delta, cancel_reason = v.cancel_reason,
                       priority = v.priority, is_waiting_stop = v.is_waiting_stop, engine_price = v.engine_price,
                       updated_at = now()
                   FROM unnest(%s::bigint[], %s::text[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[],
                               %s::numeric[], %s::text[], %s::bigint[], %s::boolean[], %s::numeric[])
                     AS v(id, status, open_quantity, filled_quantity, filled_notional, fees_paid, hold_delta,
                          cancel_reason, priority, is_waiting_stop, engine_price)
                   WHERE o.id = v.id""",
                write.orders,
            )
        if write.amends:
            # An amended order's own price and total quantity (its engine price and open quantity
            # are in the order UPDATE above). Evaluated on the row as it was, like every SET.
            cursor.execute(
                """UPDATE trading_order o SET price = COALESCE(v.price, o.price),
                       quantity = COALESCE(v.quantity, o.quantity), updated_at = now()
                   FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[]) AS v(id, price, quantity)
                   WHERE o.id = v.id""",
                write.amends,
            )
        if write.commands:
            cursor.execute(
                """UPDATE trading_command c SET applied_sequence = v.seq, applied_position = v.pos
                   FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, seq, pos) WHERE c.id = v.id""",
                write.commands,
            )
        cursor.execute(
            """UPDATE trading_matcherstate SET last_sequence = %s, last_hash = %s, applied_commands = %s,
                   last_stream_id = %s, owner = %s, heartbeat_at = %s WHERE market_id = %s""",
            [ctx.sequence, ctx.last_hash, ctx.applied_commands, write.stream_id, write.owner, write.now, ctx.market_id],
        )
        if write.market_changed:
            cursor.execute(
                "UPDATE markets_market SET last_price = %s, status = %s, updated_at = %s WHERE id = %s",
                [ctx.last_price, ctx.status, write.now, ctx.market_id],
            )
