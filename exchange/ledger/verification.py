"""Invariants of the ledger, checked in SQL over the whole database.

Each check returns a list of human-readable breaches (empty when all is well). Other apps add
their own checks with ``register_check`` (the trading app checks that every held amount
belongs to an open order); ``verify_ledger`` runs them all.
"""
from collections.abc import Callable

from django.db import connection

Check = Callable[[], list[str]]
_extra_checks: list[tuple[str, Check]] = []


def register_check(name: str, check: Check) -> None:
    """Add a named check to those ``verify_ledger`` runs (idempotent per name)."""
    if all(existing != name for existing, _ in _extra_checks):
        _extra_checks.append((name, check))


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def check_entries_balanced() -> list[str]:
    rows = _rows(
        """SELECT p.entry_id, a.symbol, SUM(p.amount) FROM ledger_posting p
           JOIN markets_asset a ON a.id = p.asset_id
           GROUP BY p.entry_id, a.symbol HAVING SUM(p.amount) <> 0 ORDER BY 1 LIMIT 50"""
    )
    return [f"entry #{e}: {sym} postings sum to {s}, not 0" for e, sym, s in rows]


def check_assets_sum_to_zero() -> list[str]:
    rows = _rows(
        """SELECT a.symbol, SUM(p.amount) FROM ledger_posting p JOIN markets_asset a ON a.id = p.asset_id
           GROUP BY a.symbol HAVING SUM(p.amount) <> 0"""
    )
    return [f"{sym}: all postings sum to {s}, not 0" for sym, s in rows]


def check_balances_match_postings() -> list[str]:
    rows = _rows(
        """WITH sums AS (
               SELECT account_id, asset_id,
                      COALESCE(SUM(amount) FILTER (WHERE bucket = 'available'), 0) AS available,
                      COALESCE(SUM(amount) FILTER (WHERE bucket = 'held'), 0) AS held
               FROM ledger_posting GROUP BY account_id, asset_id)
           SELECT COALESCE(b.account_id, s.account_id), a.symbol,
                  COALESCE(b.available, 0), COALESCE(s.available, 0),
                  COALESCE(b.held, 0), COALESCE(s.held, 0)
           FROM ledger_balance b
           FULL OUTER JOIN sums s ON s.account_id = b.account_id AND s.asset_id = b.asset_id
           JOIN markets_asset a ON a.id = COALESCE(b.asset_id, s.asset_id)
           WHERE COALESCE(b.available, 0) <> COALESCE(s.available, 0)
              OR COALESCE(b.held, 0) <> COALESCE(s.held, 0)
           ORDER BY 1 LIMIT 50"""
    )
    return [
        f"account {acc} {sym}: balance says available {ba} held {bh}, postings say available {pa} held {ph}"
        for acc, sym, ba, pa, bh, ph in rows
    ]


def check_user_balances_not_negative() -> list[str]:
    rows = _rows(
        """SELECT b.account_id, a.symbol, b.available, b.held FROM ledger_balance b
           JOIN ledger_ledgeraccount la ON la.id = b.account_id
           JOIN markets_asset a ON a.id = b.asset_id
           WHERE la.kind = 'user' AND (b.available < 0 OR b.held < 0) LIMIT 50"""
    )
    return [f"account {acc} {sym}: negative balance (available {av}, held {h})" for acc, sym, av, h in rows]


def check_holds_not_overdrawn() -> list[str]:
    rows = _rows(
        """SELECT hold, account_id, asset_id, SUM(amount) FROM ledger_posting
           WHERE bucket = 'held' GROUP BY hold, account_id, asset_id HAVING SUM(amount) < 0 LIMIT 50"""
    )
    return [f"hold {hold} (account {acc}, asset {asset}) is overdrawn: {s}" for hold, acc, asset, s in rows]


def check_amount_precision() -> list[str]:
    rows = _rows(
        """SELECT p.id, a.symbol, p.amount FROM ledger_posting p JOIN markets_asset a ON a.id = p.asset_id
           WHERE p.amount <> ROUND(p.amount, a.decimals) LIMIT 50"""
    )
    return [f"posting #{pid}: {amount} has more decimals than {sym} allows" for pid, sym, amount in rows]


def check_system_accounts_are_system() -> list[str]:
    rows = _rows(
        """SELECT b.id FROM ledger_balance b JOIN ledger_ledgeraccount la ON la.id = b.account_id
           WHERE b.is_system <> (la.kind <> 'user') LIMIT 50"""
    )
    return [f"balance #{bid}: is_system disagrees with its account's kind" for (bid,) in rows]


def check_postings_reference_rows() -> list[str]:
    """Postings' references are not database constraints (bulk-write speed): check them here."""
    rows = _rows(
        """SELECT p.id FROM ledger_posting p
           LEFT JOIN ledger_ledgerentry e ON e.id = p.entry_id
           LEFT JOIN ledger_ledgeraccount a ON a.id = p.account_id
           LEFT JOIN markets_asset s ON s.id = p.asset_id
           WHERE e.id IS NULL OR a.id IS NULL OR s.id IS NULL LIMIT 50"""
    )
    return [f"posting #{pid} refers to a missing entry, account or asset" for (pid,) in rows]


CORE_CHECKS: list[tuple[str, Check]] = [
    ("entries balance per asset", check_entries_balanced),
    ("every asset sums to zero", check_assets_sum_to_zero),
    ("balances equal their postings", check_balances_match_postings),
    ("user balances are not negative", check_user_balances_not_negative),
    ("no hold is overdrawn", check_holds_not_overdrawn),
    ("amounts fit their asset's decimals", check_amount_precision),
    ("system flags match account kinds", check_system_accounts_are_system),
    ("postings refer to existing rows", check_postings_reference_rows),
]


def verify_ledger() -> list[tuple[str, list[str]]]:
    """Run every check; return ``(name, breaches)`` for each, in order."""
    return [(name, check()) for name, check in [*CORE_CHECKS, *_extra_checks]]
