"""Rebuild a market's matcher state from PostgreSQL, and republish unapplied commands.

The book is rebuilt from the open orders in priority order (the market sequence at which each
took its place), so a restarted matcher continues exactly where the last commit left it.
"""
from decimal import Decimal

import orjson
from django.db import connection

from exchange.ledger.models import AccountKind, LedgerAccount
from exchange.markets.models import Market
from exchange.matching import OrderBook
from exchange.matching.book import SNAPSHOT_VERSION
from exchange.trading.matcher.persist import ORDER_COLUMNS
from exchange.trading.matcher.rows import engine_order, order_state_from_row
from exchange.trading.matcher.state import MarketContext, OrderState
from exchange.trading.models import MatcherState


def market_context(market: Market) -> MarketContext:
    state, _ = MatcherState.objects.get_or_create(market=market)
    fees, _ = LedgerAccount.objects.get_or_create(kind=AccountKind.FEES, user=None)
    return MarketContext(
        market_id=market.pk, symbol=market.symbol, tick_size=market.tick_size, lot_size=market.lot_size,
        base_id=market.base_id, quote_id=market.quote_id, base_decimals=market.base.decimals,
        quote_decimals=market.quote.decimals, fee_account_id=fees.pk, status=market.status,
        last_price=market.last_price, sequence=state.last_sequence, last_hash=state.last_hash,
        applied_commands=state.applied_commands,
    )


def open_order_rows(market_id: int) -> list[dict]:
    """Open orders that the matcher has applied, in priority order, with their fee schedule."""
    with connection.cursor() as cursor:
        # An amend's added hold is already in the row but counts only once the amend is applied
        # (``apply.BatchApplier._apply_amend``): the unapplied ones are taken off here.
        cursor.execute(
            f"""SELECT {ORDER_COLUMNS}, pc.payload AS fees,
                       (SELECT COALESCE(SUM((a.payload->>'hold_added')::numeric), 0) FROM trading_command a
                        WHERE a.order_id = o.id AND a.kind = 'amend' AND a.applied_sequence IS NULL) AS amend_holds
                FROM trading_order o
                JOIN ledger_ledgeraccount la ON la.user_id = o.user_id
                JOIN trading_command pc ON pc.order_id = o.id AND pc.kind = 'place'
                WHERE o.market_id = %s AND o.status = 'open'
                ORDER BY o.priority""",
            [market_id],
        )
        names = [col.name for col in cursor.description]
        rows = [dict(zip(names, record, strict=True)) for record in cursor.fetchall()]
    for row in rows:
        row["hold_remaining"] -= row.pop("amend_holds")
    return rows


def rebuild(market: Market) -> tuple[MarketContext, OrderBook, dict[int, OrderState]]:
    """The matcher's state for ``market`` as of the last commit."""
    ctx = market_context(market)
    bids: list[dict]
    asks: list[dict]
    bids, asks, stops = [], [], []
    orders: dict[int, OrderState] = {}
    for row in open_order_rows(market.pk):
        fees = row.pop("fees")
        fees = orjson.loads(fees) if isinstance(fees, str | bytes) else fees
        orders[row["id"]] = order_state_from_row(row, fees)
        engine = engine_order(ctx, row).to_dict()
        if row["is_waiting_stop"]:
            stops.append(engine)
        else:
            engine["remaining"] = engine["quantity"]
            (bids if row["side"] == "buy" else asks).append(engine)
    # Priority order within the snapshot: best price first, then time (the market sequence).
    bids.sort(key=lambda o: -o["price"])
    asks.sort(key=lambda o: o["price"])
    last = None if ctx.last_price is None else int(Decimal(ctx.last_price) / ctx.tick_size)
    book = OrderBook.restore({"version": SNAPSHOT_VERSION, "last_price": last, "bids": bids, "asks": asks, "stops": stops})
    return ctx, book, orders


def unapplied_command_ids(market_id: int, *, older_than_seconds: float = 0) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT id FROM trading_command WHERE market_id = %s AND applied_sequence IS NULL
               AND created_at <= now() - make_interval(secs => %s) ORDER BY id""",
            [market_id, older_than_seconds],
        )
        return [r[0] for r in cursor.fetchall()]
