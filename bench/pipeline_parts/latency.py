"""Phase B: the time from a command's XADD to the commit of its matcher batch, at a fixed offered rate.

More commands of phase A's mix are written through the real entry code (``flow.write_commands``),
each stamped with the moment it is due; then a producer process XADDs them one tick at a time at
``--rate`` commands/s, recording the time of each XADD. Commit times come from the commit
listener (``commits.py``); latency = commit time - XADD time.
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from datetime import UTC, datetime

from pipeline_parts.commits import commit_times, start_listener, stop_listener
from pipeline_parts.common import Params, loadavg, log, pct
from pipeline_parts.flow import Flow, Place, write_commands
from pipeline_parts.matcher import MatcherProcess, phase_order_stats, wait_applied


def producer_main(redis_url: str, key: str, ids: list[int], start_at: float, rate: float, out) -> None:
    """XADD ``ids`` at ``rate``/s from ``start_at``: each millisecond, what is due, pipelined.
    Records the wall-clock time just before each XADD is sent, and how late it was."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.ping()
    sent = [0.0] * len(ids)
    lag = [0.0] * len(ids)
    i, n = 0, len(ids)
    while time.time() < start_at:
        time.sleep(min(0.01, max(0.0, start_at - time.time())))
    while i < n:
        now = time.time()
        due_until = int((now - start_at) * rate) + 1
        j = min(n, max(due_until, i))
        if j > i:
            pipe = client.pipeline(transaction=False)
            for k in range(i, j):
                pipe.xadd(key, {"c": ids[k]})
            t = time.time()
            pipe.execute()
            for k in range(i, j):
                sent[k] = t
                lag[k] = t - (start_at + k / rate)
            i = j
        next_due = start_at + i / rate
        pause = next_due - time.time()
        if pause > 0:
            time.sleep(pause)
    out.put((sent, lag))


def phase_latency(params: Params, market, flow: Flow, matcher: MatcherProcess, ctx, results: dict) -> None:
    from django.db import connection

    m = int(params.rate * params.latency_seconds)
    log(f"phase B: {m:,} commands XADDed at {params.rate:,}/s for {params.latency_seconds:g}s (producer process)")
    traders = {t.user_id: t for t in flow.traders}
    with connection.cursor() as cursor:  # cancels may target phase A orders that are really still live
        cursor.execute("""SELECT id, user_id, side FROM trading_order WHERE market_id = %s AND status = 'open'
                          AND cancel_requested_at IS NULL ORDER BY id""", [market.pk])
        flow.live = [Place(traders[user_id], side, "limit", "gtc", None, None, None, order_id=order_id)
                     for order_id, user_id, side in cursor.fetchall()]
    flow.counts = Counter()
    listener = start_listener(params, ctx)
    commands = flow.commands(m)
    start_at = 0.0

    def due_times(count: int) -> list[datetime]:
        # Taken right before the commit: the producer starts 2 s later (the commit, then
        # its process start), and each command is stamped with the moment it is due to be XADDed.
        nonlocal start_at
        start_at = time.time() + 2.0
        return [datetime.fromtimestamp(start_at + i / params.rate, UTC) for i in range(count)]

    command_ids, refused = write_commands(market, commands, due_times)
    places = [c for c in commands if isinstance(c, Place) and c.order_id is not None]
    order_ids = sorted(p.order_id for p in places)
    m = len(command_ids)
    if time.time() > start_at - 0.2:
        log("  (the producer starts behind schedule; latency is measured from the real XADD)")
    out = ctx.Queue()
    producer = ctx.Process(target=producer_main,
                           args=(params.redis_url, f"cmd:{market.symbol}", command_ids, start_at, params.rate, out))
    load_before = loadavg()
    cpu_before = matcher.cpu()
    producer.start()
    sent, lag = out.get(timeout=params.latency_seconds + 120)
    producer.join(timeout=10)
    ok = wait_applied(market.pk, command_ids[0], command_ids[-1], timeout=120, matcher=matcher)
    time.sleep(0.3)
    notes = stop_listener(listener)
    if not ok:
        sys.exit("phase B: the matcher did not apply every command in time")
    cpu_after = matcher.cpu()
    commits = commit_times(command_ids, notes)
    latencies_ms = [(commits[cid] - s) * 1000 for cid, s in zip(command_ids, sent, strict=True) if cid in commits]
    warm = int(params.rate)  # the first second: the matcher wakes from idle
    steady_ms = latencies_ms[warm:] if len(latencies_ms) > 2 * warm else latencies_ms
    duration = sent[-1] - sent[0]
    stats = phase_order_stats(market.pk, order_ids[0], order_ids[-1])
    batches = len({xid for _, xid in notes})
    results["B"] = {
        "commands": m, "refused_at_entry": refused, "offered_rate": params.rate,
        "achieved_xadd_rate": round(m / duration) if duration > 0 else None,
        "producer_lag_p99_ms": round(pct(lag, 99) * 1000, 2), "batches": batches, "avg_batch": round(m / max(1, batches), 1),
        "p50_ms": round(pct(latencies_ms, 50), 2), "p90_ms": round(pct(latencies_ms, 90), 2),
        "p99_ms": round(pct(latencies_ms, 99), 2), "p999_ms": round(pct(latencies_ms, 99.9), 2),
        "max_ms": round(max(latencies_ms), 2), "steady_p50_ms": round(pct(steady_ms, 50), 2),
        "steady_p99_ms": round(pct(steady_ms, 99), 2), "commit_time_missing": m - len(latencies_ms),
        "p99_ms_by_second": [round(pct(latencies_ms[i:i + warm], 99), 1) for i in range(0, len(latencies_ms), warm)],
        "max_ms_by_second": [round(max(latencies_ms[i:i + warm]), 1) for i in range(0, len(latencies_ms), warm)],
        "trades": stats["fills"], "mix": dict(flow.counts), "order_stats": stats,
        "matcher_cpu_s": round(cpu_after[0] - cpu_before[0], 2), "backend_cpu_s": round(cpu_after[1] - cpu_before[1], 2),
        "wall_s": round(max(commits.values()) - sent[0], 2) if commits else None,
        "loadavg_before": load_before, "loadavg_after": loadavg(),
    }
    b = results["B"]
    log(f"  XADD->commit p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms, max {b['max_ms']} ms "
        f"({batches} batches, avg {b['avg_batch']} commands)")
