"""Recall, precision, hard-negative false alerts and latency of the detectors over the market grid.

Simulates every cell of the evaluation grid (surveillance/simulation/grid.py: price level, tick,
depth, message rate, session length, manipulator pace, camouflage, and mixes of them), feeds each
run's events one by one to the detectors as the real-time consumer does, matches the alerts to the
labelled episodes and prints Markdown tables: per typology over the held-out cells (the figures
to report), the same over the tuning cells, then per varied dimension, held-out and tuning apart.

    python3 bench/surveillance_eval.py                  # all 40 cells (several minutes)
    python3 bench/surveillance_eval.py --held-out       # only the held-out cells
    python3 bench/surveillance_eval.py --cells base-0,tick-1 -v   # some cells, list misses
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from surveillance.detectors import TYPOLOGIES, DetectorSuite
from surveillance.simulation import simulate
from surveillance.simulation.grid import CELLS, DIMENSIONS, Cell
from surveillance.simulation.scoring import HARD_NEGATIVE_ROLES, Scores, percentile, score

STREAMING = ("spoofing", "layering", "wash_trading", "circular_trading", "momentum_ignition", "quote_stuffing",
             "pump_and_dump")
SHORT = {"spoofing": "spoof", "layering": "layer", "wash_trading": "wash", "circular_trading": "circ",
         "marking_the_close": "close", "momentum_ignition": "momentum", "quote_stuffing": "stuff",
         "pump_and_dump": "pump"}


def run_cell(cell: Cell) -> tuple[Cell, Scores, int, float]:
    started = time.perf_counter()
    simulation = simulate(cell.seed, cell.config())
    suite = DetectorSuite()
    emitted = []
    for event in simulation.events:
        for alert in suite.feed(event):
            emitted.append((alert, suite.state.now))
    for alert in suite.flush():
        emitted.append((alert, suite.state.now))
    return cell, score(simulation, emitted), len(simulation.events), time.perf_counter() - started


def fmt(value, spec=".2f", missing="n/a") -> str:
    return missing if value is None else format(value, spec)


def typology_table(total: Scores, title: str) -> bool:
    """The per-typology table; True when every typology meets the issue's targets."""
    print(f"\n### {title}\n")
    print("| typology | episodes | recall | alerts | precision | latency p95 (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    ok = True
    for typology in TYPOLOGIES:
        recall, precision = total.recall(typology), total.precision(typology)
        p95 = percentile(total.latencies[typology], 0.95)
        print(f"| {typology} | {total.episodes[typology]} | {fmt(recall)} | {total.alerts[typology]} | "
              f"{fmt(precision)} | {fmt(p95, '.1f')} |")
        ok &= recall is not None and recall >= 0.9 and (precision is None or precision >= 0.8)
    print("\n| hard negative | account-days | false alerts | max alerts per account-day |")
    print("|---|---:|---:|---:|")
    for role in HARD_NEGATIVE_ROLES:
        worst = max((n for (r, *_), n in total.per_account_day.items() if r == role), default=0)
        print(f"| {role} | {total.hard_negative_account_days[role]} | {total.hard_negative_alerts[role]} | {worst} |")
        ok &= worst <= 1
    return ok


def dimension_table(per_dimension: dict, title: str) -> None:
    """Recall/precision per typology (columns) and varied dimension (rows)."""
    print(f"\n### {title}: recall/precision per varied dimension\n")
    print("| dimension | cells | " + " | ".join(SHORT[t] for t in TYPOLOGIES) + " | hard-negative false alerts |")
    print("|---|---:|" + "---:|" * len(TYPOLOGIES) + "---:|")
    for dimension in DIMENSIONS:
        if dimension not in per_dimension:
            continue
        cells, total = per_dimension[dimension]
        row = [f"{fmt(total.recall(t), '.2f', '-')}/{fmt(total.precision(t), '.2f', '-')}" for t in TYPOLOGIES]
        false = sum(total.hard_negative_alerts.values())
        print(f"| {dimension} | {cells} | " + " | ".join(row) + f" | {false} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", help="comma-separated cell names (default: every cell)")
    parser.add_argument("--held-out", action="store_true", help="only the held-out cells")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--verbose", "-v", action="store_true", help="list missed episodes and false alerts")
    args = parser.parse_args(argv)
    cells = list(CELLS)
    if args.cells:
        wanted = set(args.cells.split(","))
        cells = [c for c in cells if c.name in wanted]
        if len(cells) != len(wanted):
            parser.error(f"unknown cells: {sorted(wanted - {c.name for c in cells})}")
    if args.held_out:
        cells = [c for c in cells if c.held_out]
    started = time.perf_counter()
    groups = {True: Scores(), False: Scores()}
    per_dimension: dict = {True: {}, False: {}}
    events = 0
    print("| cell | held out | events | episodes | found | alerts | true | seconds |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for cell, scores, n, seconds in pool.map(run_cell, cells):
            events += n
            groups[cell.held_out].merge(scores)
            count, total = per_dimension[cell.held_out].setdefault(cell.dimension, [0, Scores()])
            total.merge(scores)
            per_dimension[cell.held_out][cell.dimension][0] = count + 1
            print(f"| {cell.name} | {'yes' if cell.held_out else ''} | {n:,} | {sum(scores.episodes.values())} | "
                  f"{sum(scores.detected.values())} | {sum(scores.alerts.values())} | "
                  f"{sum(scores.true_alerts.values())} | {seconds:.0f} |", flush=True)
            if args.verbose:
                for _, label in scores.missed:
                    print(f"    missed {label.typology} {label.accounts[:2]} camo={label.camouflaged} {label.details}")
                for _, alert, roles in scores.false:
                    print(f"    false {alert.typology} {alert.accounts[:3]} {roles} {alert.start[11:19]} {alert.reason}")
    ok = True
    held = sum(1 for c in cells if c.held_out)
    if held:
        ok = typology_table(groups[True], f"Held-out cells ({held} of {len(cells)})")
    if len(cells) > held:
        typology_table(groups[False], f"Tuning cells ({len(cells) - held})")
    if held:
        dimension_table(per_dimension[True], "Held-out cells")
    if len(cells) > held:
        dimension_table(per_dimension[False], "Tuning cells")
    print(f"\nTargets on the held-out cells: recall >= 0.90 and precision >= 0.80 per typology, <= 1 false "
          f"alert per hard-negative account per day: {'MET' if ok else 'NOT MET'}.")
    print(f"{events:,} events, {time.perf_counter() - started:.0f} s wall time with {args.workers} worker(s).")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
