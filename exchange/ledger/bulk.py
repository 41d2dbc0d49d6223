"""The ledger's bulk API: many entries, their postings and the balances they move, in a few
statements inside the caller's transaction. The per-posting API is ``services`` / ``postings``.

For the matcher, which settles a whole batch at once: ``ledger_batch_capture`` builds the rows
as COPY text and array literals on the caller's thread as soon as the batch is planned (so the
writer only ships ready bytes), and ``ledger_batch_write`` sends them. Balances get one UPDATE
per touched (account, asset), after locking those rows in (account, asset) order, the order the
entry services lock in too, so the matcher and order entry never deadlock. The ledger's
invariants (postings sum to zero per asset, balances follow postings) have one owner, and
``verify_ledger`` checks what the ledger itself wrote.
"""
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import DatabaseError

from exchange.infra.pgtext import copy_rows, copy_text, next_ids, numbers
from exchange.ledger.postings import AVAILABLE, PostingSpec

EntrySpec = tuple[str, str | None, Sequence[PostingSpec]]  # (kind, reference, postings)


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
class LedgerBatch:
    entries: str | None  # COPY text of ledger_ledgerentry
    postings: str | None  # COPY text of ledger_posting
    balances: Balances | None


def ledger_batch_capture(entries: Sequence[EntrySpec], *, now: datetime, known_balances: set[tuple[int, int]]) -> LedgerBatch:
    """The rows of ``entries``, ready to send. ``known_balances``: (account, asset) pairs whose
    balance row exists; the new ones of this batch are added (a caller whose batch fails must
    forget the set)."""
    if not entries:
        return LedgerBatch(None, None, None)
    entry_ids = next_ids("ledger_ledgerentry_id_seq", len(entries))
    now_text = str(now)
    entry_rows = "".join([f"{eid}\t{kind}\t{copy_text(ref)}\t\t{now_text}\n"
                          for eid, (kind, ref, _) in zip(entry_ids, entries, strict=True)])
    posting_rows = "".join([f"{eid}\t{p.account_id}\t{p.asset_id}\t{p.bucket}\t{p.amount}\t{copy_text(p.hold)}\n"
                            for eid, (_, _, legs) in zip(entry_ids, entries, strict=True) for p in legs])
    return LedgerBatch(entry_rows, posting_rows, _balances(entries, known_balances))


def _balances(entries: Sequence[EntrySpec], known: set[tuple[int, int]]) -> Balances | None:
    deltas: dict[tuple[int, int], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for _, _, postings in entries:
        for p in postings:
            deltas[(p.account_id, p.asset_id)][0 if p.bucket == AVAILABLE else 1] += p.amount
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


def ledger_batch_write(cursor, batch: LedgerBatch) -> None:
    """Send ``batch`` on ``cursor``; the caller holds the transaction open around this."""
    copy_rows(cursor, "ledger_ledgerentry", "id, kind, reference, memo, created_at", batch.entries)
    copy_rows(cursor, "ledger_posting", "entry_id, account_id, asset_id, bucket, amount, hold", batch.postings)
    if batch.balances is not None:
        _apply_balances(cursor, batch.balances)


def _apply_balances(cursor, balances: Balances) -> None:
    if balances.new_accounts is not None:
        cursor.execute(
            """INSERT INTO ledger_balance (account_id, asset_id, available, held, is_system, updated_at)
               SELECT v.account_id, v.asset_id, 0, 0, la.kind <> 'user', now()
               FROM unnest(%s::bigint[], %s::bigint[]) AS v(account_id, asset_id)
               JOIN ledger_ledgeraccount la ON la.id = v.account_id
               ORDER BY 1, 2 ON CONFLICT (account_id, asset_id) DO NOTHING""",
            [balances.new_accounts, balances.new_assets],
        )
    cursor.execute(
        """SELECT b.id FROM ledger_balance b
           JOIN unnest(%s::bigint[], %s::bigint[]) AS v(account_id, asset_id)
             ON b.account_id = v.account_id AND b.asset_id = v.asset_id
           ORDER BY b.account_id, b.asset_id FOR UPDATE OF b""",
        [balances.accounts, balances.assets],
    )
    cursor.execute(
        """UPDATE ledger_balance b SET available = b.available + v.da, held = b.held + v.dh, updated_at = now()
           FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[], %s::numeric[]) AS v(account_id, asset_id, da, dh)
           WHERE b.account_id = v.account_id AND b.asset_id = v.asset_id""",
        [balances.accounts, balances.assets, balances.available, balances.held],
    )
    if cursor.rowcount != balances.count:
        # A balance row the matcher believed existed does not: never let a posting go unbalanced.
        raise DatabaseError(f"balance update touched {cursor.rowcount} rows, expected {balances.count}")
