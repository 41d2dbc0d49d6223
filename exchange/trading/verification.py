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


def check_open_orders_hold_what_they_need() -> list[str]:
    """An open order holds exactly what its open quantity can still spend: the base quantity of
    a sell, limit (or protection) price x open quantity of a buy. The matcher releases any
    excess after every command, so a breach is a leak: an amend's added hold that was neither
    used nor given back, say. Orders with an amend not yet applied are skipped (its hold is
    taken when it is asked for and settled when it is applied)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT o.id, o.side, o.hold_remaining,
                      CASE WHEN o.side = 'sell' THEN o.open_quantity ELSE o.engine_price * o.open_quantity END
               FROM trading_order o
               WHERE o.status = 'open' AND o.open_quantity IS NOT NULL
                 AND (o.side = 'sell' OR o.engine_price IS NOT NULL)
                 AND o.hold_remaining <> CASE WHEN o.side = 'sell' THEN o.open_quantity
                                              ELSE o.engine_price * o.open_quantity END
                 AND NOT EXISTS (SELECT 1 FROM trading_command a WHERE a.order_id = o.id AND a.kind = 'amend'
                                 AND a.applied_sequence IS NULL)
               LIMIT 50"""
        )
        rows = cursor.fetchall()
    return [f"open {side} order {oid} holds {held}, its open quantity needs {needed}"
            for oid, side, held, needed in rows]
