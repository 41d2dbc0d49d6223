"""Recall, precision, hard-negative false alerts and latency of the surveillance detectors.

Runs the simulator (surveillance/simulation) over several seeds, feeds each run's events one by
one to the detectors as the real-time consumer will, matches alerts to the labelled episodes and
prints a Markdown table. Tuning seeds (used while choosing the defaults) are kept apart from the
held-out seeds whose figures are reported.

    python3 bench/surveillance_eval.py               # held-out seeds 201-210
    python3 bench/surveillance_eval.py --quick       # three held-out seeds, one day each
    python3 bench/surveillance_eval.py --seeds 1-12  # tuning seeds
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from surveillance.detectors import TYPOLOGIES, DetectorSuite
from surveillance.simulation import Config, simulate
from surveillance.simulation.scoring import HARD_NEGATIVE_ROLES, Scores, percentile, score

# Seeds 1-12 were used while choosing the defaults and shaping the simulator. Seeds 101-110 were
# reported once, then a pump-and-dump miss there led to changes, so they count as tuning seeds
# too; 201-210 had not been run before the figures in the README were produced.
TUNING_SEEDS = (*range(1, 13), *range(101, 111))
HELD_OUT_SEEDS = tuple(range(201, 211))
STREAMING = ("spoofing", "layering", "wash_trading", "circular_trading", "momentum_ignition", "quote_stuffing", "pump_and_dump")


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        if "-" in part:
            low, high = part.split("-")
            seeds += range(int(low), int(high) + 1)
        elif part:
            seeds.append(int(part))
    return seeds


def run_seed(args) -> tuple[Scores, int, float, float]:
    seed, config = args
    t0 = time.perf_counter()
    simulation = simulate(seed, config)
    t1 = time.perf_counter()
    suite = DetectorSuite()
    emitted = []
    for event in simulation.events:
        for alert in suite.feed(event):
            emitted.append((alert, suite.state.now))
    for alert in suite.flush():
        emitted.append((alert, suite.state.now))
    t2 = time.perf_counter()
    return score(simulation, emitted), len(simulation.events), t1 - t0, t2 - t1


def fmt(value, spec=".2f", missing="n/a") -> str:
    return missing if value is None else format(value, spec)


def report(total: Scores, seeds: list[int], events: int, config: Config, verbose: bool) -> bool:
    held_out = all(s not in TUNING_SEEDS for s in seeds)
    print(f"Seeds {','.join(map(str, seeds))} ({'held out' if held_out else 'INCLUDES TUNING SEEDS'}; "
          f"tuning seeds are 1-12 and 101-110), {config.days} day(s) of "
          f"{config.session_seconds / 60:.0f} min per seed, {events:,} events.\n")
    print("| typology | episodes | recall | alerts | precision | latency p95 (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    ok = True
    for typology in TYPOLOGIES:
        recall, precision = total.recall(typology), total.precision(typology)
        p95 = percentile(total.latencies[typology], 0.95)
        print(f"| {typology} | {total.episodes[typology]} | {fmt(recall)} | {total.alerts[typology]} | "
              f"{fmt(precision)} | {fmt(p95, '.1f')} |")
        ok &= recall is not None and recall >= 0.9 and (precision is None or precision >= 0.8)
        if typology in STREAMING and p95 is not None:
            ok &= p95 < 5.0
    print("\n| hard negative | account-days | false alerts | max alerts per account-day |")
    print("|---|---:|---:|---:|")
    for role in HARD_NEGATIVE_ROLES:
        worst = max((n for (r, *_), n in total.per_account_day.items() if r == role), default=0)
        print(f"| {role} | {total.hard_negative_account_days[role]} | {total.hard_negative_alerts[role]} | {worst} |")
        if role == "market_maker":
            ok &= worst <= 1
    print("\nTargets: recall >= 0.90 and precision >= 0.80 per typology, <= 1 false alert per market-maker "
          "account per day, p95 latency < 5 s after completion for streaming typologies: "
          f"{'MET' if ok else 'NOT MET'}.")
    if verbose:
        for seed, label in total.missed:
            print(f"missed seed={seed} {label.typology} {label.accounts[:2]} camo={label.camouflaged} {label.details}")
        for seed, alert, roles in total.false:
            print(f"false seed={seed} {alert.typology} {alert.accounts[:3]} {roles} {alert.start[:19]} {alert.reason}")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", help="e.g. 101-110 or 1,2,3 (default: the held-out seeds)")
    parser.add_argument("--quick", action="store_true", help="three held-out seeds, one day each")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--verbose", "-v", action="store_true", help="list missed episodes and false alerts")
    args = parser.parse_args(argv)
    config = Config()
    seeds = list(HELD_OUT_SEEDS)
    if args.quick:
        config = replace(config, days=1)
        seeds = seeds[:3]
    if args.seeds:
        seeds = parse_seeds(args.seeds)
    started = time.perf_counter()
    total, events = Scores(), 0
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for scores, n, _, _ in pool.map(run_seed, [(s, config) for s in seeds]):
            total.merge(scores)
            events += n
    ok = report(total, seeds, events, config, args.verbose)
    print(f"\n{time.perf_counter() - started:.0f} s wall time with {args.workers} worker(s).")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
