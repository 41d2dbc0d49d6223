"""Throughput and latency of the matching engine on a fixed-seed workload of one market.

    python bench/engine.py                          # 1,000,000 commands, 5 runs
    python bench/engine.py --commands 100000 --runs 3 --reference-commands 2000

The workload: about 70% limit orders added near the touch (distance from the touch drawn from a
power law), 25% cancels of orders that are still resting, 5% marketable orders (market by
quantity, or limit IOC through the touch). It is generated once, by running it through a book, so
that every cancel names a live order; each run then replays it into a fresh book and consumes
every event list. Latency is measured in a separate pass (timing each command costs time itself),
and peak memory in another, under tracemalloc. The reference book runs a short prefix only.
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exchange.matching import Order, OrderBook, OrderType, Side, TimeInForce
from exchange.matching.gc_policy import tune_for_large_books
from exchange.matching.reference import ReferenceBook

SEED = 20240621
MID = 100_000  # ticks
Command = tuple[bool, object]  # (is_cancel, order or order_id)


def make_workload(count: int, seed: int = SEED) -> list[Command]:
    rng = random.Random(seed)
    book = OrderBook()
    live: list[int] = []  # ids of orders added as GTC limits, maybe filled since
    commands: list[Command] = []
    next_id = 1
    while len(commands) < count:
        roll = rng.random()
        if roll < 0.25 and live:
            while live:
                index = rng.randrange(len(live))
                live[index], live[-1] = live[-1], live[index]
                order_id = live.pop()
                if book.get_order(order_id) is not None:
                    commands.append((True, order_id))
                    book.cancel(order_id)
                    break
            continue
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        bid, ask = book.best_bid(), book.best_ask()
        bid = bid if bid is not None else (ask - 1 if ask is not None else MID - 1)
        ask = ask if ask is not None else bid + 1
        account = rng.randrange(1_000)
        if roll < 0.95:
            distance = min(int(rng.paretovariate(1.3)) - 1, 2_000)
            price = ask - 1 - distance if side is Side.BUY else bid + 1 + distance
            order = Order(order_id=next_id, account=account, side=side, price=max(price, 1),
                          quantity=rng.randint(1, 100))
            live.append(next_id)
        elif rng.random() < 0.6:
            order = Order(order_id=next_id, account=account, side=side, price=None, quantity=rng.randint(1, 300),
                          type=OrderType.MARKET, tif=TimeInForce.IOC)
        else:
            through = rng.randint(0, 2)
            price = ask + through if side is Side.BUY else bid - through
            order = Order(order_id=next_id, account=account, side=side, price=max(price, 1),
                          quantity=rng.randint(1, 300), tif=TimeInForce.IOC)
        next_id += 1
        commands.append((False, order))
        book.submit(order)
    return commands


def replay(book, commands: list[Command]) -> int:
    """Apply every command; returns the number of events (so that none is optimised away)."""
    submit, cancel = book.submit, book.cancel
    produced = 0
    for is_cancel, argument in commands:
        produced += len(cancel(argument) if is_cancel else submit(argument))
    return produced


def throughput(factory, commands: list[Command], runs: int) -> tuple[list[float], list[float], int]:
    """Commands per second of wall-clock time and of process CPU time, per run. On a shared
    machine the CPU-time figure is the steadier one: it leaves out time spent descheduled."""
    rates, cpu_rates, produced = [], [], 0
    for _ in range(runs):
        book = factory()
        gc.collect()
        start, cpu_start = time.perf_counter_ns(), time.process_time_ns()
        produced = replay(book, commands)
        elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu_start
        rates.append(len(commands) / (elapsed / 1e9))
        cpu_rates.append(len(commands) / (cpu / 1e9))
        del book
    return rates, cpu_rates, produced


def latencies(factory, commands: list[Command]) -> list[int]:
    book = factory()
    submit, cancel, clock = book.submit, book.cancel, time.perf_counter_ns
    samples = []
    record = samples.append
    gc.collect()
    for is_cancel, argument in commands:
        start = clock()
        if is_cancel:
            cancel(argument)
        else:
            submit(argument)
        record(clock() - start)
    return samples


def peak_memory(factory, commands: list[Command]) -> int:
    gc.collect()
    tracemalloc.start()
    book = factory()
    replay(book, commands)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del book
    return peak


def percentile(sorted_samples: list[int], share: float) -> int:
    return sorted_samples[min(len(sorted_samples) - 1, int(share * len(sorted_samples)))]


def report(name: str, factory, commands: list[Command], runs: int) -> float:
    rates, cpu_rates, produced = throughput(factory, commands, runs)
    samples = sorted(latencies(factory, commands))
    peak = peak_memory(factory, commands)
    median = statistics.median(rates)
    print(f"{name}: {len(commands):,} commands x {runs} runs, {produced:,} events per run")
    print(f"  commands/s   median {median:,.0f}   min {min(rates):,.0f}   max {max(rates):,.0f}   (wall clock)")
    print(
        f"  commands/s   median {statistics.median(cpu_rates):,.0f}   min {min(cpu_rates):,.0f}"
        f"   max {max(cpu_rates):,.0f}   (process CPU time)"
    )
    print(
        f"  latency      p50 {percentile(samples, 0.5) / 1000:.2f} us   p99 {percentile(samples, 0.99) / 1000:.2f} us"
        f"   p99.9 {percentile(samples, 0.999) / 1000:.2f} us   max {samples[-1] / 1000:.0f} us"
    )
    print(f"  peak memory  {peak / 2**20:.1f} MiB (tracemalloc, book and events)")
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work on the machine skews wall clock)")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reference-commands", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()

    start = time.perf_counter()
    commands = make_workload(args.commands, args.seed)
    # The workload is input, not engine state: keep the collector from re-scanning its million
    # objects on every full collection (a matcher does the same after loading its books), and
    # run under the matcher's own collector thresholds (exchange/matching/gc_policy.py).
    gc.freeze()
    tune_for_large_books()
    print(f"gc thresholds {gc.get_threshold()} (the matcher's)")
    cancels = sum(1 for is_cancel, _ in commands if is_cancel)
    marketable = sum(1 for is_cancel, o in commands if not is_cancel and o.tif is TimeInForce.IOC)
    print(
        f"workload: {len(commands):,} commands (seed {args.seed}): {len(commands) - cancels - marketable:,} limit adds,"
        f" {cancels:,} cancels, {marketable:,} marketable; generated in {time.perf_counter() - start:.1f} s"
    )
    report("OrderBook", OrderBook, commands, args.runs)
    prefix = commands[: args.reference_commands]
    print()
    fast = report("OrderBook on the reference slice", OrderBook, prefix, args.runs)
    reference = report("ReferenceBook on the same slice", ReferenceBook, prefix, 1)
    print(f"\nfast / reference on the slice: {fast / reference:,.0f}x")


if __name__ == "__main__":
    main()
