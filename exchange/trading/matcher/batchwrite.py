"""A planned batch turned into what its transaction sends: COPY text and array literals.

Built on the matcher's thread as soon as a batch is planned (``BatchWrite.capture``), so the
writer's thread only ships ready bytes to PostgreSQL and PostgreSQL never waits for Python
between statements. It is also a copy: the order states and the market context go on changing
in the batches planned while this one commits. The ledger's rows (entries, postings, balance
changes) are built by the ledger's bulk API (``exchange.ledger.bulk``); the text forms are
``exchange.infra.pgtext``'s (why text rather than the driver's adapters is said there).
"""
from dataclasses import dataclass, replace
from datetime import datetime

import orjson
from django.utils import timezone

from exchange.infra.pgtext import codes, copy_text, flags, numbers
from exchange.ledger.bulk import LedgerBatch, ledger_batch_capture
from exchange.trading.matcher.state import BatchPlan, MarketContext


@dataclass(slots=True)
class BatchWrite:
    ctx: MarketContext  # a copy, as of the end of the batch
    command_count: int
    stream_id: str
    owner: str
    now: datetime
    ledger: LedgerBatch  # entries, postings and balance changes
    fills: str | None  # COPY text of trading_fill
    journal: str | None  # COPY text of trading_journalevent
    orders: list[str] | None  # the columns of the order UPDATE
    amends: list[str] | None  # (ids, prices, quantities) of the amended orders' UPDATE
    commands: list[str] | None  # (ids, sequences, positions) of the command UPDATE
    market_changed: bool

    @classmethod
    def capture(cls, ctx: MarketContext, plan: BatchPlan, *, stream_id: str, owner: str,
                known_balances: set[tuple[int, int]]) -> "BatchWrite":
        """``known_balances``: (account, asset) pairs whose balance row exists; the new ones of
        this batch are added (the runner forgets the set whenever a batch fails)."""
        now = timezone.now()
        ledger = ledger_batch_capture(plan.entries, now=now, known_balances=known_balances)
        market_id = ctx.market_id
        fills = "".join([
            f"{market_id}\t{seq}\t{price}\t{qty}\t{buy_id}\t{sell_id}\t{buyer}\t{seller}\t{aggressor}\t{buyer_fee}\t"
            f"{seller_fee}\t{ts}\n"
            for seq, price, qty, buy_id, sell_id, buyer, seller, aggressor, buyer_fee, seller_fee, ts in plan.fills
        ]) or None
        journal = "".join([
            f"{market_id}\t{seq}\t{etype}\t{copy_text(orjson.dumps(payload).decode())}\t{digest}\t{ts}\n"
            for seq, etype, payload, digest, ts in plan.journal
        ]) or None
        commands = None
        if plan.commands:
            commands = [numbers([c for c, _, _ in plan.commands]), numbers([s for _, s, _ in plan.commands]),
                        numbers([p for _, _, p in plan.commands])]
        return cls(
            ctx=replace(ctx), command_count=len(plan.commands), stream_id=stream_id, owner=owner, now=now,
            ledger=ledger, fills=fills,
            journal=journal, orders=_order_columns(plan), commands=commands, amends=_amend_columns(plan),
            market_changed=bool(plan.fills or plan.status_changed),
        )


def _amend_columns(plan: BatchPlan) -> list[str] | None:
    if not plan.amends:
        return None
    # In sequence order: a later amend's price or quantity replaces an earlier one's.
    last: dict[int, tuple] = {}
    for order_id, price, quantity in plan.amends:
        before = last.get(order_id, (None, None))
        last[order_id] = (before[0] if price is None else price, before[1] if quantity is None else quantity)
    ids = sorted(last)
    return [numbers(ids), numbers([last[i][0] for i in ids]), numbers([last[i][1] for i in ids])]


def _order_columns(plan: BatchPlan) -> list[str] | None:
    states = sorted(plan.orders.values(), key=lambda s: s.order_id)
    if not states:
        return None
    return [
        numbers([s.order_id for s in states]), codes([s.status for s in states]),
        numbers([s.open_quantity for s in states]), numbers([s.filled_quantity for s in states]),
        numbers([s.filled_notional for s in states]), numbers([s.fees_paid for s in states]),
        numbers([s.hold_delta for s in states]), codes([s.cancel_reason for s in states]),
        numbers([s.priority for s in states]), flags([s.is_waiting_stop for s in states]),
        numbers([s.engine_price for s in states]),
    ]
