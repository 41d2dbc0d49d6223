"""The benchmark's printed summary (the full figures are in var/bench/pipeline-results.json)."""
from __future__ import annotations

from pathlib import Path

from pipeline_parts.common import BASELINE_MARKET, MAIN_MARKET, Params


def print_summary(params: Params, r: dict, logs: Path) -> None:
    m, a, b = r["machine"], r["A"], r["B"]
    line = "=" * 96
    print(f"\n{line}\nOrder-pipeline benchmark{' (--quick)' if params.quick else ''}")
    print(f"machine: nproc={m['nproc']} {m['cpu']}; Python {m['python']}; PostgreSQL {m['postgres']} "
          f"(synchronous_commit={m['synchronous_commit']}, fsync={m['fsync']}, shared_buffers={m['shared_buffers']})")
    print(f"params: backlog N={params.commands:,} commands, {params.users:,} traders, mix: {params.cancel_ratio:.0%} cancels; "
          f"of places {params.marketable_ratio:.0%} marketable limits ({params.ioc_ratio:.0%} of them IOC), "
          f"{params.market_ratio:.0%} market; matcher batch {params.batch_size}, block 50 ms, "
          f"{'publishing' if params.publish else '--no-publish'}; seed {params.seed}")
    print(line)
    s = a["order_stats"]
    how = (f"manage.py run_matcher{'' if params.publish else ' --no-publish'}" if params.relay_every is None
           else f"Matcher(relay_every={params.relay_every:g}, publish=False) subprocess, NOT the stock run_matcher")
    print(f"A. matcher throughput from a backlog ({how}; started idle {r['matcher_start_s']} s before)")
    print(f"   {a['commands']:,} commands ({a['places']:,} places, {a['cancels']:,} cancels) XADDed in {a['xadd_seconds']} s, "
          f"all committed {a['elapsed_seconds']} s after the first XADD")
    print(f"   sustained: {a['orders_per_s']:,} commands/s overall, {a['steady_orders_per_s']:,} commands/s steady "
          f"(10%-90% of commits)   [target >= 10,000/s: {'MET' if a['steady_orders_per_s'] >= 10_000 else 'NOT MET'}]")
    print(f"   trades: {a['trades']:,} = {a['trades_per_s']:,} trades/s; {a['batches']} batches (avg {a['avg_batch']} commands)")
    print(f"   placed orders that traded: {s['traded'] / max(1, s['orders']):.1%} "
          f"(as taker {s['takers'] / max(1, s['orders']):.1%}); end state: {s['open']:,} open, {s['filled']:,} filled, "
          f"{s['cancelled']:,} cancelled, {s['rejected']:,} rejected; book {a['book_open_orders']:,} open orders")
    print(f"   commits per second since first XADD: {a['per_second']}")
    cost = a["matcher_cpu_s"] + a["backend_cpu_s"]
    print(f"   CPU: matcher process {a['matcher_cpu_s']} s + its writer's PostgreSQL backend {a['backend_cpu_s']} s for "
          f"{a['elapsed_seconds']} s wall = {1e6 * cost / a['commands']:.0f} us CPU per command (the two overlap: "
          f"{cost / a['elapsed_seconds']:.2f} cores busy); "
          f"loadavg {a['loadavg_before']} -> {a['loadavg_after']}; WAL {a['wal_bytes_per_command']:,} bytes per command")
    print(f"   stream entries added to cmd:{MAIN_MARKET} during A: {a['stream_entries_added']:,} for N={a['commands']:,} "
          f"commands: {a['relayed_during_A']:,} relay re-publications; the matcher finished reading the stream "
          f"{a['stream_drained_after_s']} s after the first XADD; relayed over A+B per the matcher log: {r['relayed_btc']:,}")
    if "A0" in r:
        a0 = r["A0"]
        print(f"A0. baseline, the same backlog on {BASELINE_MARKET} through run_matcher --in-flight 0 (one batch at a time): "
              f"{a0['orders_per_s']:,} commands/s overall, {a0['steady_orders_per_s']:,}/s steady; "
              f"two threads (A) / one batch at a time (A0): {a['orders_per_s'] / a0['orders_per_s']:.2f}x")
    print("B. XADD -> commit latency at a fixed offered rate (producer process, commit time from NOTIFY at commit)")
    print(f"   {b['commands']:,} commands at {b['offered_rate']:,}/s offered ({b['achieved_xadd_rate']:,}/s achieved, "
          f"producer lag p99 {b['producer_lag_p99_ms']} ms); {b['batches']} batches (avg {b['avg_batch']}); "
          f"{b['trades']:,} trades")
    print(f"   p50 {b['p50_ms']} ms, p90 {b['p90_ms']} ms, p99 {b['p99_ms']} ms, p99.9 {b['p999_ms']} ms, max {b['max_ms']} ms  "
          f"[target p99 < 50 ms: {'MET' if b['p99_ms'] < 50 else 'NOT MET'}]")
    print(f"   without the first second: p50 {b['steady_p50_ms']} ms, p99 {b['steady_p99_ms']} ms")
    print(f"   CPU: matcher {b['matcher_cpu_s']} s + backend {b['backend_cpu_s']} s over {b['wall_s']} s wall; "
          f"loadavg {b['loadavg_before']} -> {b['loadavg_after']}")
    print("C. order_place throughput (real service, each process its own users, ETH-USD, no matcher running)")
    for row in r["C"]:
        print(f"   {row['processes']} processes: {row['orders_per_s']:,} orders/s (per call p50 {row['p50_ms']} ms, "
              f"p99 {row['p99_ms']} ms)")
    print("Verification")
    for name, v in r["verify"].items():
        lines = v["output"].splitlines()
        verdict = lines[-1] if lines else "(no output)"
        fails = [ln for ln in lines if ln.startswith(("FAIL", "      "))]
        print(f"   manage.py {name}: {verdict} (exit {v['exit']}, {v['seconds']} s)")
        for ln in fails[:10]:
            print(f"      {ln}")
    print(f"total {r['total_seconds']} s; matcher logs and JSON results in {logs}")
    print(line)
