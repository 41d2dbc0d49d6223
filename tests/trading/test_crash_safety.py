"""Nothing acknowledged is lost or doubled: kill -9 of the matcher, Redis flushed and restarted,
the matcher's database connection killed mid-batch, and failover between two matchers.

Every test drives random orders and cancels through the real entry services against real
matcher processes, then requires: every order in exactly one final state, every command
applied exactly once, the journal replaying through a fresh engine to the same events, fills
and book (``verify_journal``), and a clean ledger (``verify_ledger``).
"""
import os
import random
import signal
import threading
import time

import pytest
import redis
from django.db import connection

from exchange.markets.services import market_create
from exchange.trading.models import MatcherState, Order

from .load import run_load, settle_and_check

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def two_markets(assets, market):
    eth = market_create(base=assets["ETH"], quote=assets["USD"], tick_size="0.01", lot_size="0.001",
                        min_notional="1", price_band_pct="10")
    return [market, eth]


@pytest.fixture
def traders(make_user, two_markets):
    return [make_user(USD="10000000", BTC="1000", ETH="10000") for _ in range(20)]


def test_kill_9_chaos(traders, two_markets, start_matcher, wait, ledger_clean):
    symbols = [m.symbol for m in two_markets]
    current = {"matcher": start_matcher(*symbols)}
    done = threading.Event()
    kills = []

    def chaos() -> None:
        rng = random.Random(3)
        while not done.is_set() or len(kills) < 5:
            time.sleep(rng.uniform(0.5, 2.0))
            current["matcher"].kill()
            kills.append(time.monotonic())
            current["matcher"] = start_matcher(*symbols)

    killer = threading.Thread(target=chaos)
    killer.start()
    try:
        placed = run_load(traders, symbols, 5000)
    finally:
        done.set()
        killer.join()
    assert len(kills) >= 5
    assert len(placed) > 3000
    settle_and_check(two_markets, ledger_clean, wait)
    assert Order.objects.filter(status="filled").exists()
    assert Order.objects.filter(status="cancelled", cancel_reason="cancelled_by_user").exists()


@pytest.fixture
def private_redis(tmp_path, settings):
    """A Redis server of this test's own, which it may flush and restart at will."""
    import socket
    import subprocess

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", str(tmp_path)]
    state = {"process": subprocess.Popen(command, stdout=subprocess.DEVNULL)}
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)

    def wait_up() -> None:
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis did not start")

    def restart() -> None:
        state["process"].kill()
        state["process"].wait()
        state["process"] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_up()

    wait_up()
    settings.REDIS_URL = url
    yield {"url": url, "client": client, "restart": restart}
    state["process"].kill()
    state["process"].wait()


def test_redis_flushed_and_restarted_mid_load(traders, two_markets, private_redis, tmp_path, wait, ledger_clean):
    from tests.conftest import MatcherProcess

    symbols = [m.symbol for m in two_markets]
    matcher = MatcherProcess(private_redis["url"], symbols, tmp_path / "matcher.log")
    done = threading.Event()

    def trouble() -> None:
        time.sleep(2)
        private_redis["client"].flushall()
        time.sleep(2)
        private_redis["restart"]()
        done.set()

    thread = threading.Thread(target=trouble)
    thread.start()
    try:
        run_load(traders, symbols, 2500)
        thread.join()
        assert done.is_set()
        settle_and_check(two_markets, ledger_clean, wait)
        assert matcher.process.poll() is None, matcher.output()  # it recovered by itself
    finally:
        matcher.stop()


def test_database_connection_killed_mid_batch(traders, two_markets, start_matcher, wait, ledger_clean, monkeypatch):
    symbols = [m.symbol for m in two_markets]
    monkeypatch.setenv("PGAPPNAME", "matcher-under-test")
    matcher = start_matcher(*symbols)
    monkeypatch.delenv("PGAPPNAME")
    done = threading.Event()
    terminated = []

    def terminate() -> None:
        import psycopg

        from tests.conftest import database_url

        with psycopg.connect(database_url().replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            while not done.is_set():
                time.sleep(0.3)
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'matcher-under-test' AND state <> 'idle'"
                ).fetchall()
                terminated.extend(r for r in rows if r[0])
        connection.close()

    thread = threading.Thread(target=terminate)
    thread.start()
    try:
        run_load(traders, symbols, 2500)
    finally:
        done.set()
        thread.join()
    assert terminated, "no batch was interrupted"
    settle_and_check(two_markets, ledger_clean, wait)
    assert matcher.process.poll() is None, matcher.output()
    assert "recovering from PostgreSQL" in matcher.output()


def test_failover_to_a_standby_matcher(traders, market, start_matcher, wait, ledger_clean):
    first = start_matcher("BTC-USD")
    wait(lambda: MatcherState.objects.filter(market=market).exclude(owner="").exists(), message="an owner")
    second = start_matcher("BTC-USD")
    done = threading.Event()
    owners = []

    def kill_the_owner() -> None:
        time.sleep(2)
        owner = MatcherState.objects.get(market=market).owner
        owners.append(owner)
        pid = int(owner.rsplit(":", 1)[1])
        assert pid in (first.process.pid, second.process.pid)
        os.kill(pid, signal.SIGKILL)
        connection.close()
        done.set()

    thread = threading.Thread(target=kill_the_owner)
    thread.start()
    run_load(traders, ["BTC-USD"], 2000)
    thread.join()
    assert done.is_set()
    settle_and_check([market], ledger_clean, wait, timeout=60)
    survivor = first if int(owners[0].rsplit(":", 1)[1]) == second.process.pid else second
    assert MatcherState.objects.get(market=market).owner.endswith(f":{survivor.process.pid}")
