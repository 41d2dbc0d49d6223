"""`make run` / `make test` on a fresh machine: with no DATABASE_URL / REDIS_URL, the wrapper
starts a real embedded PostgreSQL and Redis, hands their URLs to the command, and stops both."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.whole_venue  # starts its own PostgreSQL and Redis servers

PROBE = textwrap.dedent(
    """
    import os, psycopg, redis
    with psycopg.connect(os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)) as conn:
        print("pg", conn.execute("SELECT current_database()").fetchone()[0])
    r = redis.Redis.from_url(os.environ["REDIS_URL"])
    r.set("probe", "ok")
    print("redis", r.get("probe").decode(), os.environ["REDIS_URL"])
    """
)


def test_wrapper_starts_and_stops_embedded_postgres_and_redis(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    result = subprocess.run(
        [sys.executable, "scripts/with_services.py", sys.executable, "-c", PROBE],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pg exchange" in result.stdout
    assert "redis ok" in result.stdout
    port = result.stdout.split("redis://127.0.0.1:")[-1].split("/")[0]
    # Both servers are gone afterwards: nothing listens on the Redis port, no postmaster for var/pg.
    assert subprocess.run(["redis-cli", "-p", port, "ping"], capture_output=True, text=True).stdout.strip() != "PONG"
    assert not (ROOT / "var" / "pg" / "postmaster.pid").exists()
