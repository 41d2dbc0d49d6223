"""The trading side of ``verify_ledger``: every held amount belongs to an open order."""
from django.db import connection


def check_holds_match_open_orders() -> list[str]:
    """Each order's ``hold_remaining`` equals the sum of the postings of its hold, and orders that
    are finished hold nothing."""
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH holds AS (
                   SELECT hold, SUM(amount) AS held FROM ledger_posting
                   WHERE bucket = 'held' AND hold LIKE 'order:%%' GROUP BY hold)
               SELECT o.id, o.status, o.hold_remaining, COALESCE(h.held, 0)
               FROM trading_order o LEFT JOIN holds h ON h.hold = 'order:' || o.id
               WHERE o.hold_remaining <> COALESCE(h.held, 0)
                  OR (o.status NOT IN ('pending', 'open') AND o.hold_remaining <> 0)
               ORDER BY o.id LIMIT 50"""
        )
        rows = cursor.fetchall()
    return [
        f"order {oid} ({status}): hold_remaining {remaining}, ledger holds {held}"
        for oid, status, remaining, held in rows
    ]
