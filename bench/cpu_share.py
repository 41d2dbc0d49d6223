"""Where the machine's CPU goes during a benchmark: every process's CPU time, by kind, from /proc.

The benches share the machine with the venue, so a figure like "200 orders/s" says little
without the budget behind it: how many milliseconds of CPU one accepted order cost, and in which
process (the web processes, PostgreSQL, the matcher and its fan-out, surveillance, the gateway,
Redis, the generator itself). ``Sampler`` reads /proc once a second in a thread; ``share``
gives, for a window of wall-clock time, the cores each kind kept busy. Linux only.
"""
from __future__ import annotations

import os
import threading
import time
from collections import Counter

TICKS = os.sysconf("SC_CLK_TCK")


def _read(pid: str) -> tuple[int, int, str, int] | None:
    """(ppid, CPU ticks, command line, start time) of one process, or None if it is gone. (A
    PostgreSQL backend's command line changes with its state: the start time tells a process
    from a new one with the same pid.)"""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), cmdline, int(fields[19])


def snapshot() -> dict[int, tuple[int, int, str, int]]:
    out = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit() and (row := _read(pid)) is not None:
            out[int(pid)] = row
    return out


def kind(pid: int, ppid: int, cmdline: str, table: dict[int, tuple[int, int, str, int]], me: int,
         database: str) -> str:
    if pid == me or ppid == me:
        return "generator (this bench)"
    if "daphne" in cmdline:
        return "web (Daphne)"
    if cmdline.startswith("postgres"):
        # "postgres: 15/main: USER DATABASE HOST(PORT) STATE" for a backend; background workers
        # (WAL writer, checkpointer, ...) serve every database.
        words = cmdline.split()
        if len(words) >= 5 and "(" in words[4]:
            return "PostgreSQL" if words[3] == database else "other (not the venue)"
        return "PostgreSQL (shared: WAL, checkpoints)"
    if "run_matcher" in cmdline:
        return "matcher"
    parent = table.get(ppid)
    if parent is not None and "run_matcher" in parent[2]:
        return "market data fan-out"
    for needle, name in (("run_surveillance", "surveillance"), ("haproxy", "gateway (HAProxy)"),
                         ("redis-server", "Redis"), ("celery", "Celery"), ("run_chain_watcher", "chain"),
                         ("run_withdrawal_signer", "chain"), ("anvil", "chain")):
        if needle in cmdline:
            return name
    return "other (not the venue)"


class Sampler:
    """Snapshots of every process's CPU time, once a second, until ``stop``."""

    def __init__(self, database: str, every: float = 1.0) -> None:
        self.database = database  # the venue's: other databases' backends are not its work
        self.every = every
        self.samples: list[tuple[float, dict[int, tuple[int, int, str, int]]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="cpu-sampler")

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), snapshot()))
            self._stop.wait(self.every)

    def share(self, start: float, end: float) -> tuple[float, Counter]:
        """(seconds measured, cores busy by kind) between the first and last sample inside
        [start, end]; an empty Counter if fewer than two samples fall inside."""
        inside = [(t, s) for t, s in self.samples if start <= t <= end]
        if len(inside) < 2:
            return 0.0, Counter()
        (t0, first), (t1, last) = inside[0], inside[-1]
        me = os.getpid()
        busy: Counter = Counter()
        for pid, (ppid, ticks, cmdline, started) in last.items():
            before = first.get(pid)
            used = ticks - (before[1] if before is not None and before[3] == started else 0)
            if used > 0:
                busy[kind(pid, ppid, cmdline, last, me, self.database)] += used / TICKS / (t1 - t0)
        return t1 - t0, busy


def reference_ms(loops: int = 3_000_000, runs: int = 3) -> float:
    """Milliseconds a fixed pure-Python loop takes on this machine now (best of ``runs``).

    The same 2-core box has been twice as slow on one day as on another (the same code, the same
    benchmark: 459 and 254 accepted orders/s), so a figure is printed beside the speed of the
    box it was taken on; compare runs only when this is close."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        total = 0
        for i in range(loops):
            total += i
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


def per_order(busy: Counter, orders_per_second: float) -> dict[str, float]:
    """Milliseconds of CPU per accepted order, by kind, largest first, and the venue's total
    (everything but what is not the venue's: other work that happened to share the machine)."""
    if orders_per_second <= 0:
        return {}
    rows = {name: round(cores * 1000 / orders_per_second, 2) for name, cores in busy.most_common()}
    venue = sum(cores for name, cores in busy.items() if not name.startswith("other"))
    rows["total of the venue and generator"] = round(venue * 1000 / orders_per_second, 2)
    return rows
