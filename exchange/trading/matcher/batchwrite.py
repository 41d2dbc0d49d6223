"""A planned batch turned into what its transaction sends: COPY text and array literals.

Built on the matcher's thread as soon as a batch is planned (``BatchWrite.capture``), so the
writer's thread only ships ready bytes to PostgreSQL and PostgreSQL never waits for Python
between statements. It is also a copy: the order states and the market context go on changing
in the batches planned while this one commits.

Why text built here rather than the driver's adapters: psycopg dumps a list parameter and a COPY
row value by value in Python, which cost more than the statements they fed (a fifth of the
writer's time for array parameters alone). PostgreSQL parses one array literal or one COPY
buffer in C.
"""
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

import orjson
from django.db import connection
from django.utils import timezone

from exchange.trading.matcher.state import BatchPlan, MarketContext

# COPY's text format: backslash, tab, newline and carriage return are escaped; \N is NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def copy_text(value: str | None) -> str:
    return NULL if value is None else value.translate(_COPY_ESCAPES)


def numbers(values: list) -> str:
    """An array literal of ints or Decimals (None as NULL), for ``%s::bigint[]`` / ``%s::numeric[]``."""
    return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"


def codes(values: list[str]) -> str:
    """An array literal of strings, for ``%s::text[]``."""
    return "{" + ",".join(['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]) + "}"


def flags(values: list[bool]) -> str:
    return "{" + ",".join(["t" if v else "f" for v in values]) + "}"


def next_ids(sequence: str, count: int) -> list[int]:
    """Ids from a sequence, on the calling thread's connection (sequences are not transactional:
    an id taken for a batch that then fails is simply never used)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
        return [r[0] for r in cursor.fetchall()]


@dataclass(slots=True)
class Balances:
    """One batch's net change per touched (account, asset), as array literals in lock order."""

    count: int
    accounts: str
    assets: str
    available: str
    held: str
    new_accounts: str | None  # the pairs this process has not seen yet (their rows may not exist)
    new_assets: str | None


@dataclass(slots=True)
class BatchWrite:
    ctx: MarketContext  # a copy, as of the end of the batch
    command_count: int
    stream_id: str
    owner: str
    now: datetime
    entries: str | None  # COPY text of ledger_ledgerentry
    postings: str | None  # COPY text of ledger_posting
    balances: Balances | None
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
        entries = postings = None
        if plan.entries:
            entry_ids = next_ids("ledger_ledgerentry_id_seq", len(plan.entries))
            now_text = str(now)
            entries = "".join([f"{eid}\t{kind}\t{copy_text(ref)}\t\t{now_text}\n"
                               for eid, (kind, ref, _) in zip(entry_ids, plan.entries, strict=True)])
            postings = "".join([f"{eid}\t{p.account_id}\t{p.asset_id}\t{p.bucket}\t{p.amount}\t{copy_text(p.hold)}\n"
                                for eid, (_, _, legs) in zip(entry_ids, plan.entries, strict=True) for p in legs])
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
            entries=entries, postings=postings, balances=_balances(plan, known_balances), fills=fills,
            journal=journal, orders=_order_columns(plan), commands=commands, amends=_amend_columns(plan),
            market_changed=bool(plan.fills or plan.status_changed),
        )


def _balances(plan: BatchPlan, known: set[tuple[int, int]]) -> Balances | None:
    deltas: dict[tuple[int, int], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for _, _, postings in plan.entries:
        for p in postings:
            deltas[(p.account_id, p.asset_id)][0 if p.bucket == "available" else 1] += p.amount
    if not deltas:
        return None
    keys = sorted(deltas)  # the lock order: (account, asset), as the entry services lock
    new = [k for k in keys if k not in known]
    known.update(new)
    return Balances(
        count=len(keys), accounts=numbers([k[0] for k in keys]), assets=numbers([k[1] for k in keys]),
        available=numbers([deltas[k][0] for k in keys]), held=numbers([deltas[k][1] for k in keys]),
        new_accounts=numbers([k[0] for k in new]) if new else None, new_assets=numbers([k[1] for k in new]) if new else None,
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
