"""Phases A and A0: the matcher's throughput from a backlog.

A backlog of N commands is written through the real entry code (``flow.write_commands``) while
the matcher, started on an empty market, idles; then its command ids are XADDed at once (through
``publish_commands``, in pipelines of 5,000) and the clock runs from the first XADD to the commit
of the last command. A0 is the same backlog (same seed, same number of traders) on a twin market
through ``run_matcher --in-flight 0``, one batch at a time: the ratio A / A0 is what the
two-thread matcher buys, measured in the same run.
"""
from __future__ import annotations

import random
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from pipeline_parts.commits import commit_times, start_listener, stop_listener
from pipeline_parts.common import Params, analyze, loadavg, log
from pipeline_parts.flow import Flow, Place, write_commands
from pipeline_parts.matcher import (
    MatcherProcess,
    matcher_state,
    phase_order_stats,
    wait_applied,
    wait_stream_drained,
    wal_lsn,
)
from pipeline_parts.world import create_traders


def new_flow(params: Params, traders) -> Flow:
    return Flow(random.Random(params.seed), traders, mid=3_000_000, cancel_ratio=params.cancel_ratio,
                marketable_ratio=params.marketable_ratio, market_ratio=params.market_ratio, ioc_ratio=params.ioc_ratio)


def phase_throughput(params: Params, market, flow: Flow, matcher: MatcherProcess, ctx, results: dict,
                     phase: str = "A") -> None:
    import redis

    from exchange.trading.streams import publish_commands

    n = params.commands
    log(f"phase {phase} ({market.symbol}): writing a backlog of {n:,} commands through orders_place_many / order_cancel")
    listener = start_listener(params, ctx)
    t_build = time.time()
    commands = flow.commands(n)
    command_ids, refused = write_commands(market, commands)
    places = [c for c in commands if isinstance(c, Place) and c.order_id is not None]
    order_ids = sorted(p.order_id for p in places)
    build_s = time.time() - t_build
    log(f"  written in {build_s:.1f}s ({len(places):,} places, {len(command_ids) - len(places):,} cancels, "
        f"{refused} refused); ANALYZE, then XADD")
    analyze()
    load_before = loadavg()
    cpu_before = matcher.cpu()
    wal_before = wal_lsn()
    n = len(command_ids)
    t_first_xadd = time.time()
    for start in range(0, n, 5000):
        publish_commands(market.symbol, command_ids[start:start + 5000])
    t_last_xadd = time.time()
    ok = wait_applied(market.pk, command_ids[0], command_ids[-1], timeout=max(120.0, n / 500), matcher=matcher)
    time.sleep(0.3)
    notes = stop_listener(listener)
    if not ok:
        sys.exit(f"phase {phase}: the matcher did not apply the backlog in time")
    # The relay may have re-published commands that were already in the stream: phase B must not
    # start behind them, so wait until the group has consumed everything.
    key = f"cmd:{market.symbol}"
    drained_at = wait_stream_drained(params.redis_url, key, timeout=600, matcher=matcher)
    cpu_after = matcher.cpu()
    wal_bytes = wal_lsn() - wal_before
    times = commit_times(command_ids, notes)
    committed = sorted(times.values())
    elapsed = committed[-1] - t_first_xadd
    t10, t90 = committed[int(0.1 * len(committed))], committed[int(0.9 * len(committed)) - 1]
    steady = 0.8 * len(committed) / (t90 - t10) if t90 > t10 else float("nan")
    per_second = Counter(int(t - t_first_xadd) for t in committed)
    stats = phase_order_stats(market.pk, order_ids[0], order_ids[-1])
    sequence, book_orders = matcher_state(market.pk)
    info = redis.Redis.from_url(params.redis_url).xinfo_stream(key)  # after the drain: every relay re-publication counts
    added = info.get("entries-added", info.get(b"entries-added"))
    batches = len({xid for _, xid in notes})
    results[phase] = {
        "commands": n, "places": len(places), "cancels": n - len(places), "refused_at_entry": refused,
        "mix": dict(flow.counts), "build_seconds": round(build_s, 2), "xadd_seconds": round(t_last_xadd - t_first_xadd, 3),
        "elapsed_seconds": round(elapsed, 3), "orders_per_s": round(n / elapsed), "steady_orders_per_s": round(steady),
        "trades": stats["fills"], "trades_per_s": round(stats["fills"] / elapsed),
        "batches": batches, "avg_batch": round(n / max(1, batches)), "commit_time_missing": n - len(times),
        "per_second": [per_second.get(s, 0) for s in range(int(elapsed) + 1)],
        "stream_entries_added": added, "relayed_during_A": (added or n) - n,
        "stream_drained_after_s": None if drained_at is None else round(drained_at - t_first_xadd, 1),
        "order_stats": stats, "journal_sequence": sequence, "book_open_orders": book_orders,
        "matcher_cpu_s": round(cpu_after[0] - cpu_before[0], 2), "backend_cpu_s": round(cpu_after[1] - cpu_before[1], 2),
        "loadavg_before": load_before, "loadavg_after": loadavg(), "wal_bytes_per_command": round(wal_bytes / n),
    }
    a = results[phase]
    log(f"  applied in {elapsed:.2f}s: {a['orders_per_s']:,} commands/s overall, {a['steady_orders_per_s']:,}/s steady "
        f"(10%-90%), {a['trades']:,} trades = {a['trades_per_s']:,}/s, {batches} batches")


def phase_baseline(params: Params, market, ctx, results: dict, logs: Path) -> None:
    """Phase A0: phase A's backlog on a twin market, one batch at a time (see the module docstring)."""
    traders = create_traders("base", params.users, {market.base: Decimal(1000), market.quote: Decimal(100_000_000)})
    matcher = MatcherProcess(params, [market.symbol], logs / "pipeline-matcher-baseline.log", extra_args=("--in-flight", "0"))
    matcher.wait_owned(market.symbol)
    try:
        phase_throughput(params, market, new_flow(params, traders), matcher, ctx, results, phase="A0")
    finally:
        matcher.stop()
