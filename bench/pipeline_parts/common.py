"""What every phase of the pipeline benchmark shares: its parameters, its environment, small statistics."""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_pipeline"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/4"
FORBIDDEN_DATABASES = {"test", "test_test", "exchange", "postgres", "template0", "template1"}
# 0 is the venue's default; 7-15 are the test suite's (tests/conftest.py: 9-15 per test database
# and xdist worker, 8 and 7 for settings' own), which the benchmark's flush would wipe under a run.
FORBIDDEN_REDIS_DBS = {0, *range(7, 16)}
MAIN_MARKET = "BTC-USD"
ENTRY_MARKET = "ETH-USD"
BASELINE_MARKET = "SOL-USD"


@dataclass
class Params:
    commands: int
    users: int
    rate: int
    latency_seconds: float
    entry_procs: list[int]
    entry_seconds: float
    entry_users_per_proc: int
    batch_size: int
    cancel_ratio: float
    marketable_ratio: float
    market_ratio: float
    ioc_ratio: float
    seed: int
    quick: bool
    profile_matcher: str | None
    relay_every: float | None
    baseline: bool
    publish: bool
    database_url: str
    redis_url: str


def parse_args(description: str, argv: list[str] | None = None) -> Params:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="~30 s smoke run (small N, short phases)")
    p.add_argument("--commands", "-n", type=int, default=None, help="phase A backlog size (default 100000; quick 10000)")
    p.add_argument("--users", type=int, default=None, help="traders in BTC-USD (default 2000; quick 300)")
    p.add_argument("--rate", type=int, default=2000, help="phase B offered rate, commands/s (default 2000)")
    p.add_argument("--latency-seconds", type=float, default=None, help="phase B duration (default 20; quick 5)")
    p.add_argument("--entry-procs", default=None, help="phase C client process counts (default 2,4; quick 2)")
    p.add_argument("--entry-seconds", type=float, default=None, help="phase C duration per count (default 10; quick 3)")
    p.add_argument("--entry-users", type=int, default=25, help="users per phase C client process")
    p.add_argument("--batch-size", type=int, default=2000, help="run_matcher --batch-size (its default is 2000)")
    p.add_argument("--cancel-ratio", type=float, default=0.22)
    p.add_argument("--marketable-ratio", type=float, default=0.30, help="share of placed orders priced to trade")
    p.add_argument("--market-ratio", type=float, default=0.04, help="share of placed orders that are market orders")
    p.add_argument("--ioc-ratio", type=float, default=0.25, help="share of the marketable limits sent IOC")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--relay-every", type=float, default=None, metavar="SECONDS",
                   help="run the BTC-USD matcher as the Matcher class with this relay_every (stock run_matcher: 5 s) "
                        "instead of manage.py run_matcher, e.g. 3600 to measure without relay re-publications")
    p.add_argument("--publish", action="store_true",
                   help="let the matchers publish market data (Redis book, Channels groups) as in production")
    p.add_argument("--no-baseline", action="store_true",
                   help="skip phase A0 (the same backlog through run_matcher --in-flight 0, one batch at a time)")
    p.add_argument("--profile-matcher", default=None, metavar="FILE",
                   help="run the BTC-USD matcher under cProfile, writing FILE (slows it down: figures not comparable)")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    a = p.parse_args(argv)
    quick = a.quick
    return Params(
        commands=a.commands or (10_000 if quick else 100_000),
        users=a.users or (300 if quick else 2000),
        rate=a.rate,
        latency_seconds=a.latency_seconds or (5.0 if quick else 20.0),
        entry_procs=[int(x) for x in (a.entry_procs or ("2" if quick else "2,4")).split(",") if x.strip()],
        entry_seconds=a.entry_seconds or (3.0 if quick else 10.0),
        entry_users_per_proc=a.entry_users,
        batch_size=a.batch_size,
        cancel_ratio=a.cancel_ratio,
        marketable_ratio=a.marketable_ratio,
        market_ratio=a.market_ratio,
        ioc_ratio=a.ioc_ratio,
        seed=a.seed,
        quick=quick,
        profile_matcher=a.profile_matcher,
        relay_every=a.relay_every,
        baseline=not a.no_baseline,
        publish=a.publish,
        database_url=a.database_url,
        redis_url=a.redis_url,
    )


def check_isolation(params: Params) -> None:
    db_name = urlsplit(params.database_url).path.lstrip("/")
    if not db_name or db_name in FORBIDDEN_DATABASES:
        sys.exit(f"refusing to wipe database {db_name!r}: give the benchmark a database of its own")
    redis_db = int(urlsplit(params.redis_url).path.lstrip("/") or 0)
    if redis_db in FORBIDDEN_REDIS_DBS:
        sys.exit(f"refusing to flush Redis db {redis_db}: give the benchmark a db number of its own")


# Production settings (DJANGO_DEBUG=false) refuse to start without their secrets; the benchmark's
# own throwaway database gets throwaway ones unless the environment gives others.
BENCH_SECRETS = {"DJANGO_SECRET_KEY": "bench-only-secret-key-never-for-a-venue-0123456789",
                 "EXCHANGE_API_SECRET_KEY": "bench-only-api-secret-key-never-for-a-venue-0123456789",
                 "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "EXCHANGE_METRICS_TOKEN": "bench-only-metrics-token"}


def child_env(params: Params) -> dict[str, str]:
    # The backlog gives each trader tens of open orders at once: the per-market cap on open
    # orders (200 by default) is not what is measured, so it is out of the way.
    return {**BENCH_SECRETS, **os.environ, "DATABASE_URL": params.database_url, "REDIS_URL": params.redis_url,
            "DJANGO_SETTINGS_MODULE": "exchange.settings", "PYTHONUNBUFFERED": "1", "DJANGO_DEBUG": "false",
            "EXCHANGE_MAX_OPEN_ORDERS": "1000000"}


def django_setup(params_or_env) -> None:
    env = params_or_env if isinstance(params_or_env, dict) else child_env(params_or_env)
    for key in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "EXCHANGE_MAX_OPEN_ORDERS",
                *BENCH_SECRETS):
        os.environ[key] = env[key]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def analyze() -> None:
    """Planner statistics for the freshly loaded tables (this server may run without autovacuum)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def run_manage(params: Params, *args: str) -> tuple[int, str, float]:
    """Exit code, standard output (the verdict is its last line; logging goes to stderr), seconds."""
    t0 = time.time()
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=child_env(params), capture_output=True,
                            text=True)
    output = result.stdout.strip() if result.returncode == 0 else (result.stdout + result.stderr).strip()
    return result.returncode, output, time.time() - t0


def machine() -> dict:
    from django.db import connection

    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), current_setting('synchronous_commit'), "
                       "current_setting('fsync'), current_setting('shared_buffers')")
        version, sync, fsync, shared = cursor.fetchone()
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "postgres": version, "synchronous_commit": sync, "fsync": fsync, "shared_buffers": shared}
