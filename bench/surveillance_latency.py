#!/usr/bin/env python
"""Real-time surveillance latency: from a pattern's completing event to its alert, at 2,000 events/s.

    .venv/bin/python bench/surveillance_latency.py                  # 2,000/s for 5 min, then 200/s (~13 min)
    .venv/bin/python bench/surveillance_latency.py --rate 500 --no-baseline      # quicker look

Needs PostgreSQL and Redis. Uses a database of its own (``bench_surveillance_latency`` on
DATABASE_URL's server, or ``--database-url``; dropped and recreated, dropped at the end unless
``--keep``) and Redis db 3 (``--redis-url``; the consumer only connects, nothing is flushed).

Per phase (the offered rate, then the same-run baseline at ``--baseline-rate``):

1. The simulator (``surveillance/simulation``) plays the grid's ``base-0`` market for
   ``--seconds`` of session with its order rate scaled so that the session carries about the
   offered rate, and its episodes of every typology labelled (start, completion, accounts).
   Its accounts become users; the accounts the simulator gives a common beneficial owner (the
   wash traders, the self-matching firms) are linked in ``BeneficialOwner`` before the consumer
   starts.
2. The real consumer, ``manage.py run_surveillance --markets <market>`` with production
   settings (``DJANGO_DEBUG=false``), is started as a subprocess and waited for.
3. The bench writes the session's events into ``trading_journalevent`` as the matcher commits
   them: open loop, on a fixed schedule (event i is due at its session time, scaled so the
   offered rate is exact), every ``--tick`` seconds one transaction with a COPY of every event
   due by then, with consecutive sequence numbers and ``created_at`` = the event's scheduled
   time (the matcher stamps an event with its command's entry time).
   The wall-clock time at which each transaction's COMMIT returned is kept per event.
4. After the last commit it waits until the consumer's position reaches the last sequence,
   then a few seconds more, stops the consumer and reads the ``Alert`` rows.

Two latencies, both wall clock on this one machine (``Alert.created_at`` is set by the consumer
inside the transaction that stores the alert, a few ms before its commit):

* per alert, from the commit of the event whose feeding raised it (``detected_sequence``, the
  event that completed the pattern for the detector) to the alert: what the pipeline adds;
* per labelled episode, from the commit of the episode's last event (the simulator's
  completion time) to the first alert matching it (typology, an account in common, windows
  overlapping): this includes the detectors' own waiting in event time (a spoof is an order
  cancelled soon enough, a deadline later), and is negative where a detector raises before the
  episode's end (a wash trade on the second of three crosses).

It also prints the achieved rate, the writer's worst lateness against its schedule, the
consumer's largest backlog in events, its CPU use, and the load average (the box is shared).
"""
from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DB = "bench_surveillance_latency"
REDIS = "redis://127.0.0.1:6379/3"
CELL = "base-0"
EVENTS_PER_RATE_UNIT = 109.0  # events/s of the base cell's session per unit of its `rate`
ACCOUNT_FIELDS = ("account", "buyer", "seller")
SECRETS = {"DJANGO_SECRET_KEY": "bench-only-secret-key-never-for-a-venue-0123456789",
           "EXCHANGE_API_SECRET_KEY": "bench-only-api-secret-key-never-for-a-venue-0123456789",
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "EXCHANGE_METRICS_TOKEN": "bench-only-metrics-token"}


def loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _url(base: str, name: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + name


def setup(database_url: str, redis_url: str) -> None:
    """Recreate the bench's database, migrate it and set Django up on it."""
    import psycopg

    name = database_url.rsplit("/", 1)[1].split("?")[0]
    if name in ("exchange", "postgres") or not name.startswith("bench"):
        sys.exit(f"refusing to recreate database {name!r}: its name must start with 'bench'")
    redis_db = redis_url.rstrip("/").rsplit("/", 1)[-1]
    if redis_db == "0" or (redis_db.isdigit() and int(redis_db) >= 7):
        sys.exit(f"refusing Redis db {redis_db}: 0 is the venue's, 7-15 are the tests'")
    with psycopg.connect(_url(database_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    env = consumer_env(database_url, redis_url)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG",
                                             *SECRETS)})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def drop(database_url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    name = database_url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(_url(database_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Session:
    """A simulated session as journal rows, with its schedule and labels (accounts as user ids)."""

    market: str
    market_id: int
    rows: list = field(default_factory=list)  # (event_type, payload json)
    times: list = field(default_factory=list)  # session seconds of each row, non-decreasing
    labels: list = field(default_factory=list)  # (typology, user ids, start s, end s)
    prelude: list = field(default_factory=list)  # (event_type, payload json, session seconds < 0)
    span: float = 0.0
    events: list = field(default_factory=list)  # the simulator's events, for the in-process reference
    ids: dict = field(default_factory=dict)  # simulated account -> user id


def simulate_session(symbol: str, base: str, rate: float, seconds: float, seed: int) -> Session:
    """The base cell's session at about ``rate`` events/s, its market created and accounts signed up."""
    from django.contrib.auth import get_user_model

    from exchange.markets.services import asset_get_or_create, market_create
    from surveillance.models import BeneficialOwner
    from surveillance.simulation import simulate
    from surveillance.simulation.grid import CELLS

    cell = next(c for c in CELLS if c.name == CELL)
    config = replace(cell.config(), rate=rate / EVENTS_PER_RATE_UNIT, session_seconds=seconds)
    sim = simulate(seed, config)
    market = market_create(base=asset_get_or_create(symbol=base, name=base, decimals=8),
                           quote=asset_get_or_create(symbol="USD", name="US dollar", decimals=8),
                           tick_size=str(config.tick * config.grain), lot_size=str(config.lot))
    user_model = get_user_model()
    names = sorted(sim.accounts)
    existing = {u.username: u.pk for u in user_model.objects.filter(username__in=names)}
    user_model.objects.bulk_create([user_model(username=n, password="!") for n in names if n not in existing])
    ids = {u.username: u.pk for u in user_model.objects.filter(username__in=names)}
    linked = set(BeneficialOwner.objects.values_list("user_id", flat=True))
    BeneficialOwner.objects.bulk_create([BeneficialOwner(user_id=ids[n], owner=a.owner) for n, a in sim.accounts.items()
                                         if a.owner != n and ids[n] not in linked])
    session = Session(symbol, market.pk)
    open_at = config.start
    for event in sim.events:
        if event["type"] == "account":
            continue
        payload = {k: v for k, v in event.items() if k not in ("seq", "ts", "market", "type")}
        for name in ACCOUNT_FIELDS:
            if name in payload:
                payload[name] = ids[payload[name]]
        at = datetime.fromisoformat(event["ts"]).timestamp() - open_at
        if at < 0:  # a few orders in the minutes before the open: written up front, at their own times
            session.prelude.append((event["type"], json.dumps(payload), at))
            continue
        session.rows.append((event["type"], json.dumps(payload)))
        session.times.append(max(at, session.times[-1]) if session.times else at)
    session.span = max(session.times[-1], seconds)
    session.events, session.ids = sim.events, ids
    for label in sim.labels:
        session.labels.append((label.typology, {ids[a] for a in label.accounts}, label.start - open_at,
                               label.end - open_at))
    return session


class Consumer:
    """``manage.py run_surveillance`` as a subprocess, with its CPU time read from /proc."""

    def __init__(self, env: dict, market: str, log: Path):
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "manage.py", "run_surveillance", "--markets", market],
                                        cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.log_path = log

    def cpu_seconds(self) -> float:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return 0.0

    def check(self) -> None:
        if self.process.poll() is not None:
            sys.exit(f"run_surveillance exited:\n{self.log_path.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def position(cursor, market: str) -> int | None:
    cursor.execute("SELECT last_sequence FROM surveillance_consumerposition WHERE market = %s", [market])
    row = cursor.fetchone()
    return row[0] if row else None


COPY = "COPY trading_journalevent (market_id, sequence, event_type, payload, hash, created_at) FROM STDIN"


def _copy(conn, market_id: int, rows, first_sequence: int, at) -> None:
    """One transaction: ``rows`` (event type, payload json, ...) from ``first_sequence`` on."""
    with conn.cursor() as cur, cur.copy(COPY) as copy:
        for offset, row in enumerate(rows):
            created = at(offset) if callable(at) else at
            copy.write_row((market_id, first_sequence + offset, row[0], row[1], "0" * 64, created))
    conn.commit()


def write(session: Session, rate: float, tick: float, database_url: str, consumer: Consumer,
          limit: int | None = None) -> dict:
    """Commit the session's rows on schedule (the first ``limit`` only, if given); returns the
    commit time of every row written on schedule and the run's figures."""
    import psycopg

    scale = len(session.rows) / rate / session.span  # wall seconds per session second
    n = min(len(session.rows), limit or len(session.rows))
    due = [t * scale for t in session.times[:n]]
    base = len(session.prelude) + 1  # the sequence of the first scheduled row
    commits: list[float] = []
    late = backlog = batches = 0
    samples = []
    with psycopg.connect(database_url) as conn, psycopg.connect(database_url, autocommit=True) as watch:
        cursor = watch.cursor()
        started = time.time() + 0.5
        if session.prelude:
            _copy(conn, session.market_id, session.prelude, 1,
                  lambda i: datetime.fromtimestamp(started + session.prelude[i][2] * scale, UTC))
        cpu0, next_sample = consumer.cpu_seconds(), started + 1
        while len(commits) < n:
            now = time.time()
            upto = bisect.bisect_right(due, now - started, lo=len(commits))
            if upto > len(commits):
                first = len(commits)
                _copy(conn, session.market_id, session.rows[first:upto], base + first,
                      lambda i, first=first: datetime.fromtimestamp(started + due[first + i], UTC))
                committed = time.time()
                commits += [committed] * (upto - first)
                late = max(late, committed - (started + due[first]))
                batches += 1
            if now >= next_sample:
                consumer.check()
                seen = position(cursor, session.market) or 0
                backlog = max(backlog, base - 1 + len(commits) - seen)
                samples.append((round(now - started, 1), base - 1 + len(commits) - seen))
                next_sample += 1
            time.sleep(max(0.0, started + tick * (int((time.time() - started) / tick) + 1) - time.time()))
        last_commit, last = commits[-1], base - 1 + n
        # Caught up: the consumer's position at the last sequence (no progress for 120 s is a stall).
        seen, progress_at = position(cursor, session.market) or 0, time.time()
        while seen < last and time.time() - progress_at < 120:
            consumer.check()
            time.sleep(0.05)
            now_seen = position(cursor, session.market) or 0
            if now_seen > seen:
                seen, progress_at = now_seen, time.time()
        caught_up = time.time() - last_commit
        cpu = consumer.cpu_seconds() - cpu0
        time.sleep(5)  # deadline-driven alerts wait for the consumer's clock on a now quiet market
    return {"commits": commits, "base": base, "rate": (n - 1) / (last_commit - commits[0]) if n > 1 else 0.0,
            "late": late, "batches": batches, "backlog": backlog, "caught_up": caught_up, "reached": seen,
            "last": last, "events": n, "cpu": cpu / (last_commit - commits[0] + caught_up), "samples": samples}


def reference(session: Session, upto: int) -> list[tuple]:
    """(typology, accounts) of the alerts the detectors raise fed the same events in-process, in
    simulated time, up to the ``upto``-th journal row: what the consumer should raise."""
    from surveillance.detectors import DetectorSuite

    suite, rows, raised = DetectorSuite(), 0, []
    for event in session.events:
        if event["type"] != "account":
            rows += 1
            if rows > upto:
                break
        for alert in suite.feed(event):
            raised.append((alert.typology, sorted(session.ids[a] for a in alert.accounts)))
    return sorted(raised)


def measure(session: Session, run: dict) -> dict:
    """Alerts against the labels: per-alert and per-episode latencies, per typology."""
    from surveillance.models import Alert

    commits, base = run["commits"], run["base"]
    alerts = list(Alert.objects.filter(market=session.market).order_by("created_at"))
    per_alert: dict[str, list[float]] = {}
    for alert in alerts:
        if alert.detected_sequence and 0 <= alert.detected_sequence - base < len(commits):
            per_alert.setdefault(alert.typology, []).append(
                alert.created_at.timestamp() - commits[alert.detected_sequence - base])
    per_episode: dict[str, list[float]] = {}
    episodes: dict[str, int] = {}
    matched: set = set()
    slack = 5.0 * len(session.rows) / session.span / max(run["rate"], 1e-9) + 1.0  # 5 session seconds, in wall seconds
    for typology, accounts, start, end in session.labels:
        last_i = bisect.bisect_right(session.times, end + 1e-5) - 1
        if last_i >= len(commits):
            continue  # not written (``limit``)
        episodes[typology] = episodes.get(typology, 0) + 1
        first_i = min(max(0, bisect.bisect_left(session.times, start)), max(0, last_i))
        window = (commits[first_i] - slack, commits[max(0, last_i)] + slack)
        hits = [a for a in alerts if a.typology == typology and set(a.accounts) & accounts
                and a.start.timestamp() <= window[1] and a.end.timestamp() >= window[0]]
        matched.update(a.pk for a in hits)
        if hits:
            per_episode.setdefault(typology, []).append(
                min(a.created_at.timestamp() for a in hits) - commits[max(0, last_i)])
    expected = reference(session, base - 1 + len(commits))
    return {"alerts": len(alerts), "matched_alerts": len(matched), "episodes": episodes, "per_alert": per_alert,
            "per_episode": per_episode, "reference": expected,
            "raised": sorted((a.typology, sorted(a.accounts)) for a in alerts)}


def _fmt(values: list[float]) -> str:
    if not values:
        return "0 | | |"
    return f"{len(values)} | {pct(values, 0.5):.3f} | {pct(values, 0.95):.3f} | {max(values):.3f}"


def report(label: str, rate: float, run: dict, result: dict, load: tuple[str, str]) -> None:
    print(f"\n### {label}: offered {rate:,.0f} events/s\n")
    print(f"- {run['events']:,} events in {run['batches']:,} transactions; achieved {run['rate']:,.0f} events/s; "
          f"writer at most {run['late'] * 1000:.0f} ms behind its schedule")
    print(f"- consumer: largest backlog {run['backlog']:,} events (sampled each second), at the last sequence "
          f"{run['caught_up']:.2f} s after the last commit ({run['reached']:,}/{run['last']:,}), "
          f"CPU {run['cpu'] * 100:.0f}% of one core")
    episodes = result["episodes"]
    same = "the same" if result["raised"] == result["reference"] else "NOT the same"
    print(f"- episodes {sum(episodes.values())} ({', '.join(f'{k} {v}' for k, v in sorted(episodes.items()))}), "
          f"alerted {sum(len(v) for v in result['per_episode'].values())}; alerts {result['alerts']}, "
          f"matching an episode {result['matched_alerts']}; {same} (typology, accounts) as the detectors fed the "
          f"events in-process ({len(result['reference'])})")
    print(f"- load average {load[0]} at the start, {load[1]} at the end (shared box)\n")
    print("| latency (s) | typology | n | p50 | p95 | max |")
    print("|---|---|---:|---:|---:|---:|")
    for kind, title in (("per_alert", "commit of the detecting event -> alert"),
                        ("per_episode", "commit of the episode's last event -> first alert")):
        data = result[kind]
        print(f"| {title} | **all** | {_fmt([v for vs in data.values() for v in vs])} |")
        for typology in sorted(data):
            print(f"| | {typology} | {_fmt(data[typology])} |")
    sys.stdout.flush()


def consumer_env(database_url: str, redis_url: str) -> dict[str, str]:
    """The consumer's environment: production settings (no debug), the bench's database and Redis."""
    env = {**SECRETS, **os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "DJANGO_SETTINGS_MODULE": "exchange.settings", "DJANGO_DEBUG": "false", "PYTHONUNBUFFERED": "1"}
    return env


def phase(label: str, symbol: str, base: str, rate: float, *, env: dict, seconds: float = 300.0, seed: int = 1000,
          tick: float = 0.05, limit: int | None = None, log_dir: Path = ROOT / "var" / "bench") -> dict:
    """One market: simulate, start the consumer, write on schedule, measure, print."""
    print(f"[{time.strftime('%H:%M:%S')}] {label}: simulating {seconds:.0f} s of session at ~{rate:,.0f} events/s",
          flush=True)
    session = simulate_session(symbol, base, rate, seconds, seed)
    log_dir.mkdir(parents=True, exist_ok=True)
    consumer = Consumer(env, symbol, log_dir / f"surveillance-latency-{symbol}.log")
    from django.db import connection

    try:
        deadline = time.time() + 120
        with connection.cursor() as cursor:
            while position(cursor, symbol) is None:
                consumer.check()
                if time.time() > deadline:
                    sys.exit("run_surveillance did not start in 120 s")
                time.sleep(0.2)
        load_start = loadavg()
        count = min(len(session.rows), limit or len(session.rows))
        print(f"[{time.strftime('%H:%M:%S')}] {label}: writing {count:,} events", flush=True)
        run = write(session, rate, tick, env["DATABASE_URL"], consumer, limit)
        load_end = loadavg()
    finally:
        consumer.stop()
    result = measure(session, run)
    report(label, rate, run, result, (load_start, load_end))
    return {"rate": rate, "run": {k: v for k, v in run.items() if k != "commits"}, "result": result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=2000.0, help="offered journal events/s (per market)")
    parser.add_argument("--seconds", type=float, default=300.0, help="session length (the simulator's), seconds")
    parser.add_argument("--baseline-rate", type=float, default=200.0)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--tick", type=float, default=0.05, help="seconds between the writer's transactions")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL") or _url(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/exchange"), DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", REDIS))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the bench's database afterwards")
    args = parser.parse_args(argv)
    if args.seconds < 300:
        parser.error("--seconds: at least 300 (shorter sessions leave the simulator no room for its episodes)")
    setup(args.database_url, args.redis_url)
    env = consumer_env(args.database_url, args.redis_url)
    print(f"# surveillance latency, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
          f"cell {CELL} seed {args.seed}, {args.seconds:.0f} s sessions, a transaction every {args.tick * 1000:.0f} ms")
    options = {"env": env, "seconds": args.seconds, "seed": args.seed, "tick": args.tick}
    results = {"main": phase("offered rate", "SIM-USD", "SIM", args.rate, **options)}
    if not args.no_baseline:
        results["baseline"] = phase("same-run baseline", "SIMB-USD", "SIMB", args.baseline_rate, **options)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if not args.keep:
        drop(args.database_url)
    main_run = results["main"]["run"]
    return 0 if main_run["reached"] >= main_run["last"] else 1


if __name__ == "__main__":
    sys.exit(main())
