"""Holds for many orders at once: the ledger's bulk API for order entry.

Order entry commits orders in groups (one transaction for everything that arrived within a few
milliseconds, or for a batch request). Placing each hold with its own statements cost a
savepoint, a lock wait and four round trips per order; here a whole group costs two statements:
lock the users' balance rows in the assets concerned (in (account, asset) order, so concurrent
groups cannot deadlock), decide in Python with exact decimals which holds fit, then one
statement that updates the balances and inserts the entries and their postings. The rows are
the same ``hold_place`` writes, so ``verify_ledger`` checks them the same way.
"""
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from exchange.infra.prepared import prepared_cursor
from exchange.ledger.models import EntryKind
from exchange.ledger.postings import AVAILABLE, HELD


@dataclass(frozen=True, slots=True)
class HoldRequest:
    user_id: int
    asset_id: int
    amount: Decimal  # exact, in the asset's decimals, > 0
    reference: str  # the hold's name, e.g. ``order:42``


def holds_place_many(requests: list[HoldRequest]) -> list[bool]:
    """Move each request's amount from available to held, in order, inside the caller's
    transaction. A request succeeds if what is still available, after the earlier requests of
    this call, covers it; the result says which did (a refused one changes nothing)."""
    if not requests:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("holds_place_many must run inside a transaction")
    pairs = sorted({(r.user_id, r.asset_id) for r in requests})
    with prepared_cursor() as cursor:
        cursor.execute(
            """SELECT a.user_id, b.account_id, b.asset_id, b.available
               FROM ledger_balance b JOIN ledger_ledgeraccount a ON a.id = b.account_id
               WHERE (a.user_id, b.asset_id) IN (SELECT * FROM unnest(%s::bigint[], %s::bigint[]))
               ORDER BY b.account_id, b.asset_id FOR UPDATE OF b""",
            [[u for u, _ in pairs], [s for _, s in pairs]],
        )
        account_of: dict[int, int] = {}
        available: dict[tuple[int, int], Decimal] = {}
        for user_id, account_id, asset_id, amount in cursor.fetchall():
            account_of[user_id] = account_id
            available[(account_id, asset_id)] = amount
        placed: list[bool] = []
        taken: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
        for request in requests:
            account_id = account_of.get(request.user_id)
            fits = False
            if account_id is not None:
                pair = (account_id, request.asset_id)
                fits = pair in available and available[pair] - taken[pair] >= request.amount
                if fits:
                    taken[pair] += request.amount
            placed.append(fits)
        if not taken:
            return placed
        held = [r for r, ok in zip(requests, placed, strict=True) if ok]
        references, accounts, assets, buckets, amounts, names = [], [], [], [], [], []
        for r in held:
            for bucket, amount, name in ((AVAILABLE, -r.amount, None), (HELD, r.amount, r.reference)):
                references.append(r.reference)
                accounts.append(account_of[r.user_id])
                assets.append(r.asset_id)
                buckets.append(bucket)
                amounts.append(amount)
                names.append(name)
        # The balances, the entries and their postings in one statement: every data-modifying
        # CTE runs to completion whether or not the outer INSERT reads it.
        cursor.execute(
            """WITH moved AS (
                   UPDATE ledger_balance b SET available = b.available - v.amount, held = b.held + v.amount,
                          updated_at = now()
                   FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[]) AS v(account_id, asset_id, amount)
                   WHERE b.account_id = v.account_id AND b.asset_id = v.asset_id),
               entry AS (
                   INSERT INTO ledger_ledgerentry (kind, reference, memo, created_at)
                   SELECT %s, reference, '', now() FROM unnest(%s::text[]) AS t(reference)
                   RETURNING id, reference)
               INSERT INTO ledger_posting (entry_id, account_id, asset_id, bucket, amount, hold)
               SELECT entry.id, p.account_id, p.asset_id, p.bucket, p.amount, p.hold
               FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::text[], %s::numeric[], %s::text[])
                    AS p(reference, account_id, asset_id, bucket, amount, hold)
               JOIN entry ON entry.reference = p.reference""",
            [[a for a, _ in taken], [s for _, s in taken], list(taken.values()),
             EntryKind.HOLD, [r.reference for r in held],
             references, accounts, assets, buckets, amounts, names],
        )
    return placed
