"""Exact commit times: a process LISTENs to the benchmark's commit trigger (``world.TRIGGER_SQL``)
and timestamps each matcher batch's commit; a command's commit is that of its row's ``xmin``."""
from __future__ import annotations

import sys
import time

from pipeline_parts.common import Params
from pipeline_parts.world import NOTIFY_CHANNEL


def listener_main(database_url: str, ready, stop, out) -> None:
    import psycopg

    url = database_url.replace("postgres://", "postgresql://", 1)
    seen: list[tuple[float, int]] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        ready.set()
        while not stop.is_set():
            for note in conn.notifies(timeout=0.2):
                seen.append((time.time(), int(note.payload)))
        for note in conn.notifies(timeout=0.3):  # anything already queued
            seen.append((time.time(), int(note.payload)))
    out.put(seen)


def commit_times(command_ids: list[int], notes: list[tuple[float, int]]) -> dict[int, float]:
    """Each command's commit time: the NOTIFY of the transaction that is the row's xmin."""
    from django.db import connection

    by_xid: dict[int, float] = {}
    for t, xid in notes:
        by_xid.setdefault(xid, t)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, xmin::text::bigint FROM trading_command WHERE id = ANY(%s)", [command_ids])
        rows = cursor.fetchall()
    return {cid: by_xid[xid] for cid, xid in rows if xid in by_xid}


def start_listener(params: Params, ctx):
    ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=listener_main, args=(params.database_url, ready, stop, out), daemon=True)
    proc.start()
    if not ready.wait(30):
        sys.exit("the commit listener did not start")
    return proc, stop, out


def stop_listener(listener) -> list[tuple[float, int]]:
    proc, stop, out = listener
    stop.set()
    notes = out.get(timeout=30)
    proc.join(timeout=10)
    return notes
