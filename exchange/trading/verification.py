"""The trading side of ``verify_ledger``: every held amount belongs to an open order."""
from django.db import connection


def check_holds_match_open_orders() -> list[str]:
    """Each order's ``hold_remaining`` equals the sum of the postings of its hold, every order
    hold belongs to an order, and orders that are finished hold nothing. (Joined on the order
    id as a number, so PostgreSQL can hash-join instead of comparing every pair.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH holds AS (
                   SELECT substring(hold from 7)::bigint AS order_id, SUM(amount) AS held FROM ledger_posting
                   WHERE bucket = 'held' AND hold LIKE 'order:%%' GROUP BY hold)
               SELECT COALESCE(o.id, h.order_id), o.status, COALESCE(o.hold_remaining, 0), COALESCE(h.held, 0)
               FROM trading_order o FULL OUTER JOIN holds h ON h.order_id = o.id
               WHERE COALESCE(o.hold_remaining, 0) <> COALESCE(h.held, 0)
                  OR (o.status NOT IN ('pending', 'open') AND o.hold_remaining <> 0)
               LIMIT 50"""
        )
        rows = cursor.fetchall()
    return [
        f"order {oid} ({status}): hold_remaining {remaining}, ledger holds {held}"
        for oid, status, remaining, held in rows
    ]
