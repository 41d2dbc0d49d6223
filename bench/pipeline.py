#!/usr/bin/env python
"""Order-pipeline benchmark: matcher throughput, XADD-to-commit latency, order entry throughput.

    .venv/bin/python bench/pipeline.py              # default run (~3-5 minutes on 2 cores)
    .venv/bin/python bench/pipeline.py --quick      # ~30 s smoke run
    .venv/bin/python bench/pipeline.py --commands 50000 --rate 3000 --profile-matcher var/bench/matcher.prof

It needs PostgreSQL and Redis. It uses a database and a Redis db number of its own (defaults
below, or ``--database-url`` / ``--redis-url``, or the ``BENCH_DATABASE_URL`` / ``BENCH_REDIS_URL``
environment variables) and WIPES them at the start: the database is created if missing,
migrated, and every application table is truncated; the Redis db is flushed.

Phases (one market, BTC-USD, for A and B; a second market, ETH-USD, for C; a third, SOL-USD, for A0):

A0. The baseline, measured first in the same run: phase A's backlog (same seed, same number of
   traders) on a twin market through ``run_matcher --in-flight 0``, which commits each batch
   before it reads the next (the matcher's design before 2026-12-05). Skip with --no-baseline.

A. Throughput from a backlog. The matcher (``manage.py run_matcher --no-publish``, a
   subprocess) is started on an empty market and left idle. Then N commands from many users are
   written by the real entry code (``orders_place_many`` for places, ``order_cancel`` for
   cancels) in one transaction, their publication held back, then their ids are XADDed to
   ``cmd:BTC-USD``. The benchmark itself writes nothing but the commands' ``created_at`` (see
   ``pipeline_parts/flow.py``); its traders are signed up and funded through ``user_create``
   and ``deposit_credit``. We time from the first XADD to
   the commit of the last command. The mix: limit orders around a mid price that follows a
   random walk (most passive, ~30% priced through the mid so they trade, a few IOC), a few
   market orders (sells by quantity, buys by quote amount), ~22% cancels of live orders.
B. Latency at a fixed offered rate. More commands of the same mix are written the same way (each
   with ``created_at`` = the moment it is scheduled to be XADDed, as ``order_place`` would leave it),
   then a producer process XADDs them one tick at a time at ``--rate`` commands/s, recording the
   time of each XADD. Commit times are exact: the benchmark installs, in ITS OWN database only,
   a statement-level trigger on ``trading_command`` that NOTIFYs the updating transaction's id
   (one NOTIFY per matcher batch, delivered at commit), and a listener process timestamps each
   notification. Each command's commit time is that of the notification whose transaction id is
   the command row's ``xmin`` (the matcher's batch transaction that set ``applied_sequence``).
   Latency = commit time - XADD time. The same clock gives phase A's per-command commit times.
C. ``order_place`` throughput from 2 and 4 client processes (each with its own users), on
   ETH-USD with no matcher running (entry alone); a matcher then drains ETH-USD.

One module per phase in ``bench/pipeline_parts/``: ``throughput.py`` (A0, A), ``latency.py`` (B),
``entry.py`` (C); ``world.py`` (database, markets, traders), ``flow.py`` (the order flow and how it is
written), ``matcher.py`` (the matcher subprocess), ``commits.py`` (commit times), ``report.py``.

At the end ``manage.py verify_ledger`` and ``manage.py verify_journal --market ...`` run and
their verdicts are printed with the summary.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import re
import sys
import time
from decimal import Decimal

from pipeline_parts.common import (
    BASELINE_MARKET,
    ENTRY_MARKET,
    MAIN_MARKET,
    ROOT,
    analyze,
    check_isolation,
    django_setup,
    log,
    machine,
    parse_args,
    run_manage,
)
from pipeline_parts.entry import phase_entry
from pipeline_parts.latency import phase_latency
from pipeline_parts.matcher import MatcherProcess, relayed_count, wait_applied
from pipeline_parts.report import print_summary
from pipeline_parts.throughput import new_flow, phase_baseline, phase_throughput
from pipeline_parts.world import create_markets, create_traders, ensure_database, migrate, reset_state


def main(argv: list[str] | None = None) -> int:
    params = parse_args(__doc__.split("\n\n")[0], argv)
    check_isolation(params)
    t_all = time.time()
    ctx = mp.get_context("spawn")
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)

    log(f"database {params.database_url}, redis {params.redis_url}")
    ensure_database(params)
    migrate(params)
    django_setup(params)
    reset_state(params)
    markets = create_markets()
    btc, eth = markets["BTC-USD"], markets["ETH-USD"]
    t0 = time.time()
    traders = create_traders("bench", params.users, {btc.base: Decimal(1000), btc.quote: Decimal(100_000_000)})
    for procs in params.entry_procs:
        for i in range(procs):
            create_traders(f"entry{procs}p{i}_", params.entry_users_per_proc,
                           {eth.base: Decimal(100_000), eth.quote: Decimal(100_000_000)})
    log(f"reset done; {params.users} BTC-USD traders funded in {time.time() - t0:.1f}s")
    results: dict = {"machine": machine(), "params": params.__dict__.copy()}

    if params.baseline:
        phase_baseline(params, markets[BASELINE_MARKET], ctx, results, logs)
    flow = new_flow(params, traders)
    matcher = MatcherProcess(params, [MAIN_MARKET], logs / "pipeline-matcher.log", profile=params.profile_matcher,
                             relay_every=params.relay_every)
    results["matcher_start_s"] = round(matcher.wait_owned(MAIN_MARKET), 2)
    try:
        phase_throughput(params, btc, flow, matcher, ctx, results)
        phase_latency(params, btc, flow, matcher, ctx, results)
    finally:
        matcher_log = matcher.stop()
    results["relayed_btc"] = relayed_count(matcher_log)
    stats_line = re.findall(r"matcher stopped: (.*)", matcher_log)
    results["matcher_stats"] = stats_line[-1] if stats_line else None

    phase_entry(params, ctx, results)
    log(f"draining {ENTRY_MARKET} with a matcher")
    drain = MatcherProcess(params, [ENTRY_MARKET], logs / "pipeline-matcher-drain.log")
    drain.wait_owned(ENTRY_MARKET)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM trading_command WHERE market_id = %s", [eth.pk])
        lo, hi = cursor.fetchone()
    drained = wait_applied(eth.pk, lo, hi, timeout=300, matcher=drain)
    drain.stop()
    if not drained:
        log(f"{ENTRY_MARKET} was not fully drained")

    log("verifying")
    analyze()
    verdicts = {}
    checks = [("verify_ledger",), ("verify_journal", "--market", MAIN_MARKET), ("verify_journal", "--market", ENTRY_MARKET)]
    if params.baseline:
        checks.append(("verify_journal", "--market", BASELINE_MARKET))
    for args in checks:
        code, output, seconds = run_manage(params, *args)
        verdicts[" ".join(args)] = {"exit": code, "output": output, "seconds": round(seconds, 1)}
    results["verify"] = verdicts
    results["total_seconds"] = round(time.time() - t_all, 1)
    (logs / "pipeline-results.json").write_text(json.dumps(results, indent=2, default=str))
    print_summary(params, results, logs)
    ok = all(v["exit"] == 0 for v in verdicts.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
