"""Phase C: ``order_place`` throughput from 2 and 4 client processes, each with its own users, on
ETH-USD with no matcher running (entry alone); a matcher drains ETH-USD afterwards."""
from __future__ import annotations

import math
import random
import time

from pipeline_parts.common import ENTRY_MARKET, Params, child_env, django_setup, log, pct


def entry_client_main(env: dict, prefix: str, market_symbol: str, start_at: float, seconds: float, seed: int, out) -> None:
    """Place limit orders through the real ``order_place`` for this process's own users."""
    django_setup(env)
    from django.contrib.auth import get_user_model
    from django.db import connection

    from exchange.trading.services import order_place

    users = list(get_user_model().objects.filter(username__startswith=prefix).order_by("id"))
    rng = random.Random(seed)
    mid = 200_000  # 2000.00 in ticks of 0.01

    def one() -> None:
        nonlocal mid
        mid = max(1000, mid + round(rng.gauss(0, 1.5)))
        side = "buy" if rng.random() < 0.5 else "sell"
        offset = rng.randint(1, 15) if rng.random() < 0.3 else -(1 + int(rng.expovariate(1 / 30)))
        ticks = mid + (offset if side == "buy" else -offset)
        lots = max(10, min(2000, int(rng.lognormvariate(math.log(100), 0.8))))
        order_place(user=users[rng.randrange(len(users))], market=market_symbol, side=side,
                    price=f"{ticks // 100}.{ticks % 100:02d}", quantity=f"{lots // 1000}.{lots % 1000:03d}")

    for _ in range(20):  # warm up: connections, caches
        one()
    late = max(0.0, time.time() - start_at)
    while time.time() < start_at:
        time.sleep(0.001)
    latencies = []
    began = time.time()
    end = began + seconds
    while True:
        t0 = time.perf_counter()
        if time.time() >= end:
            break
        one()
        latencies.append(time.perf_counter() - t0)
    finished = time.time()
    connection.close()
    out.put((latencies, late, finished - began))


def phase_entry(params: Params, ctx, results: dict) -> None:
    results["C"] = []
    env = child_env(params)
    for procs in params.entry_procs:
        log(f"phase C: order_place from {procs} client processes for {params.entry_seconds:g}s ({ENTRY_MARKET}, no matcher)")
        out = ctx.Queue()
        start_at = time.time() + 4.0 + 2.0 * procs  # process start + Django setup + warm-up
        workers = [ctx.Process(target=entry_client_main,
                               args=(env, f"entry{procs}p{i}_", ENTRY_MARKET, start_at, params.entry_seconds,
                                     params.seed + 1000 * procs + i, out))
                   for i in range(procs)]
        for w in workers:
            w.start()
        latencies, late, rate = [], 0.0, 0.0
        for _ in workers:
            got, was_late, window = out.get(timeout=params.entry_seconds + 120)
            latencies.extend(got)
            late = max(late, was_late)
            rate += len(got) / window  # each process over its own window of `seconds`
        if late:
            log(f"  (a client started {late:.1f}s late: its window overlapped the others' less)")
        for w in workers:
            w.join(timeout=30)
        row = {"processes": procs, "orders": len(latencies), "orders_per_s": round(rate),
               "p50_ms": round(pct(latencies, 50) * 1000, 2), "p99_ms": round(pct(latencies, 99) * 1000, 2)}
        results["C"].append(row)
        log(f"  {row['orders_per_s']:,} orders/s (call p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms)")
