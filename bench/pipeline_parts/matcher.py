"""The matcher under test, run as a subprocess, and what the phases read of its progress."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

from pipeline_parts.common import ROOT, Params, child_env, log

LOCK_NAMESPACE = 0x6D61  # the matcher's advisory-lock namespace (exchange/trading/matcher/runner.py)


# What ``manage.py run_matcher --no-publish`` does, with the runner's own ``relay_every`` parameter
# (which the command does not expose): used only with --relay-every.
MATCHER_SNIPPET = """
import logging, signal, sys
import django
django.setup()
from exchange.trading.matcher.runner import Matcher
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
matcher = Matcher(sys.argv[1].split(","), batch_size=int(sys.argv[2]), relay_every=float(sys.argv[3]), publish=False)
signal.signal(signal.SIGTERM, matcher.stop)
signal.signal(signal.SIGINT, matcher.stop)
matcher.run()
print(f"matcher stopped: {matcher.stats}")
"""


class MatcherProcess:
    def __init__(self, params: Params, markets: list[str], log_path: Path, profile: str | None = None,
                 relay_every: float | None = None, extra_args: tuple[str, ...] = ()) -> None:
        cmd = [sys.executable]
        if profile:
            cmd += ["-m", "cProfile", "-o", profile]
        if relay_every is None:
            cmd += ["manage.py", "run_matcher", "--markets", ",".join(markets), *([] if params.publish else ["--no-publish"]),
                    "--batch-size", str(params.batch_size), *extra_args]
        else:
            snippet = Path(log_path).with_suffix(".py")
            snippet.write_text(MATCHER_SNIPPET)
            cmd += [str(snippet), ",".join(markets), str(params.batch_size), str(relay_every)]
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.started = time.time()
        self.backend_pid: int | None = None
        env = child_env(params)
        env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(ROOT)
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_owned(self, symbol: str, timeout: float = 60) -> float:
        """Wait until the matcher holds the market's advisory lock and its consumer group exists."""
        import redis
        from django.db import connection

        key = (LOCK_NAMESPACE << 32) | zlib.crc32(symbol.encode())
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the matcher exited early:\n{self.log_path.read_text(errors='replace')}")
            with connection.cursor() as cursor:
                cursor.execute(
                    """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = %s
                       AND objid::bigint = %s AND database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
                    [key >> 32, key & 0xFFFFFFFF],
                )
                locked = cursor.fetchone()[0]
            if locked:
                with connection.cursor() as cursor:
                    cursor.execute(
                        """SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = %s
                           AND objid::bigint = %s""", [key >> 32, key & 0xFFFFFFFF])
                    self.backend_pid = cursor.fetchone()[0]
                try:
                    if client.xinfo_groups(f"cmd:{symbol}"):
                        return time.time() - self.started
                except redis.ResponseError:
                    pass
            time.sleep(0.05)
        sys.exit(f"the matcher did not take {symbol} within {timeout}s:\n{self.log_path.read_text(errors='replace')}")

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of the matcher process and of its PostgreSQL backend."""
        return cpu_seconds(self.process.pid), cpu_seconds(self.backend_pid)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.log_path.read_text(errors="replace")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (0 if it is gone or unreadable)."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def wal_lsn() -> int:
    """The server's WAL position in bytes (server-wide: other databases' writes count too)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(cursor.fetchone()[0])


def relayed_count(log_text: str) -> int:
    return sum(int(m) for m in re.findall(r"relayed (\d+) unapplied commands", log_text))


def unapplied(market_id: int, first_id: int, last_id: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""SELECT count(*) FROM trading_command WHERE market_id = %s AND applied_sequence IS NULL
                          AND id BETWEEN %s AND %s""", [market_id, first_id, last_id])
        return cursor.fetchone()[0]


def wait_applied(market_id: int, first_id: int, last_id: int, timeout: float, matcher: MatcherProcess) -> bool:
    deadline = time.time() + timeout
    last_report = time.time()
    while time.time() < deadline:
        left = unapplied(market_id, first_id, last_id)
        if left == 0:
            return True
        if matcher.process.poll() is not None:
            log(f"the matcher died:\n{matcher.log_path.read_text(errors='replace')[-3000:]}")
            return False
        if time.time() - last_report > 10:
            log(f"  ... {left} commands still unapplied")
            last_report = time.time()
        time.sleep(0.25)
    return False


def wait_stream_drained(redis_url: str, key: str, timeout: float, matcher: MatcherProcess) -> float | None:
    """Wait until the consumer group has read and acknowledged every entry (relay duplicates too)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    t0 = time.time()
    while time.time() - t0 < timeout:
        groups = client.xinfo_groups(key)
        group = groups[0] if groups else {}
        lag, pending = group.get("lag"), group.get("pending")
        if lag == 0 and pending == 0:
            return time.time()
        if matcher.process.poll() is not None:
            return None
        time.sleep(0.1)
    return None


def phase_order_stats(market_id: int, first_order: int, last_order: int) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*), count(*) FILTER (WHERE filled_quantity > 0),
                      count(*) FILTER (WHERE status = 'open'), count(*) FILTER (WHERE status = 'filled'),
                      count(*) FILTER (WHERE status = 'cancelled'), count(*) FILTER (WHERE status = 'rejected'),
                      count(*) FILTER (WHERE status = 'pending')
               FROM trading_order WHERE market_id = %s AND id BETWEEN %s AND %s""",
            [market_id, first_order, last_order],
        )
        total, traded, open_, filled, cancelled, rejected, pending = cursor.fetchone()
        cursor.execute(
            """SELECT count(*), count(DISTINCT CASE WHEN aggressor = 'buy' THEN buy_order_id ELSE sell_order_id END)
               FROM trading_fill WHERE market_id = %s
                 AND (CASE WHEN aggressor = 'buy' THEN buy_order_id ELSE sell_order_id END) BETWEEN %s AND %s""",
            [market_id, first_order, last_order],
        )
        fills, takers = cursor.fetchone()
    return {"orders": total, "traded": traded, "takers": takers, "fills": fills, "open": open_, "filled": filled,
            "cancelled": cancelled, "rejected": rejected, "pending": pending}


def matcher_state(market_id: int) -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT last_sequence FROM trading_matcherstate WHERE market_id = %s", [market_id])
        row = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM trading_order WHERE market_id = %s AND status = 'open'", [market_id])
        return (row[0] if row else 0), cursor.fetchone()[0]
