"""The fault drill, through `make run`'s body in production shape, under a steady order load:

- kill -9 of each kind of process (a web process, the matcher, surveillance, the Celery worker
  and beat): the launcher brings each back within 10 s;
- PostgreSQL going away (every connection of the venue cut and new ones refused for 1.5 s, as a
  restart looks to its clients);
- Redis restarted with its append-only file kept, and restarted with everything lost.

Throughout: no response 5xx other than a 503 with Retry-After and the JSON error body; a market
WebSocket client that reconnects at once has a fresh snapshot within 2 s of each fault ending;
afterwards every acknowledged order is in PostgreSQL in a final state, every command applied once,
the journal replays to the same book, and the ledger is clean.
"""
import asyncio
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest
import redis
import requests
import websockets
from django.db import connection

from exchange.accounts.services import api_key_create
from exchange.trading.models import Order
from tests.api.production import PRODUCTION_ENV, signed_headers
from tests.conftest import wait_until
from tests.infra.test_launcher import _free_port, _venue
from tests.infra.venue import clone_checkout, start_venue, stop_venue
from tests.trading.load import settle_and_check

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.whole_venue]


class OwnRedis:
    """A redis-server of the drill's own, with an append-only file it may keep or lose."""

    def __init__(self, directory: Path) -> None:
        self.port, self.directory, self.process = _free_port(), directory, None
        directory.mkdir()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always"], stdout=subprocess.DEVNULL)
        wait_until(lambda: _answers(self.port), timeout=10, message="redis to start")

    def stop(self, *, lose_data: bool) -> None:
        self.process.send_signal(signal.SIGKILL if lose_data else signal.SIGTERM)
        self.process.wait()
        if lose_data:
            shutil.rmtree(self.directory)
            self.directory.mkdir()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _answers(port: int) -> bool:
    """Redis is back: it accepts connections and has loaded its data (PING is not LOADING)."""
    try:
        return bool(redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _healthy(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=2).ok
    except requests.RequestException:
        return False


class OrderLoad(threading.Thread):
    """Signed orders at a steady pace over one keep-alive connection, alternately buying and
    selling across the spread so that trades happen. Records every response."""

    def __init__(self, base: str, keys: list[tuple[str, str]], per_second: float = 15) -> None:
        super().__init__(daemon=True)
        self.base, self.keys, self.pause = base, keys, 1 / per_second
        self.stopping = threading.Event()
        self.acknowledged: list[int] = []
        self.statuses: list[int] = []
        self.bad: list[str] = []          # anything 5xx that is not a proper 503
        self.connection_errors = 0

    def run(self) -> None:
        session, n = requests.Session(), 0
        while not self.stopping.is_set():
            key, secret = self.keys[n % len(self.keys)]
            side = "buy" if n % 2 else "sell"
            price = "30000.00" if side == "buy" else "29990.00"
            body = json.dumps({"market": "BTC-USD", "side": side, "type": "limit", "price": price,
                               "quantity": "0.0100"}).encode()
            n += 1
            try:
                response = session.post(self.base + "/api/v1/orders", data=body, timeout=10,
                                        headers=signed_headers(key, secret, "POST", "/api/v1/orders", body))
            except requests.RequestException:
                self.connection_errors += 1  # a web process killed mid-request: never acknowledged
                session = requests.Session()
                continue
            self.statuses.append(response.status_code)
            if response.status_code == 201:
                self.acknowledged.append(int(response.json()["id"]))
            elif response.status_code >= 500 and not _proper_503(response):
                self.bad.append(f"{response.status_code} {response.headers.get('Content-Type')} {response.text[:200]}")
            time.sleep(self.pause)


def _proper_503(response) -> bool:
    if response.status_code != 503 or "Retry-After" not in response.headers:
        return False
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(error.get("code"), str) and isinstance(error.get("message"), str)


class MarketWatcher(threading.Thread):
    """A market WebSocket client that reconnects at once, noting when each snapshot arrives."""

    def __init__(self, url: str, origin: str) -> None:
        super().__init__(daemon=True)
        self.url, self.origin = url, origin
        self.snapshots: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        asyncio.run(self._follow())

    async def _follow(self) -> None:
        while not self.stopping.is_set():
            try:
                async with websockets.connect(self.url, origin=self.origin, open_timeout=5) as ws:
                    while not self.stopping.is_set():
                        try:
                            message = json.loads(await asyncio.wait_for(ws.recv(), 1))
                        except TimeoutError:
                            continue  # a quiet market: keep the socket, look at the stop flag
                        if message.get("type") == "snapshot":
                            self.snapshots.append(time.monotonic())
            except (TimeoutError, OSError, websockets.WebSocketException):
                await asyncio.sleep(0.05)

    def resynced_since(self, moment: float) -> bool:
        return any(t >= moment for t in self.snapshots)


def _cut_database(seconds: float) -> None:
    """What a PostgreSQL restart looks like to the venue: its connections cut, new ones refused."""
    name = connection.settings_dict["NAME"]
    # From another database: PostgreSQL will not disallow connections to the one it is serving.
    with psycopg.connect(connection.connection.info.dsn, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> %s",
                          [name, connection.connection.info.backend_pid])
            time.sleep(seconds)
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def test_fault_drill_under_load(market, make_user, tmp_path, wait, ledger_clean, settings):
    traders = [make_user(USD="10000000", BTC="1000") for _ in range(2)]
    settings.EXCHANGE_API_SECRET_KEY = PRODUCTION_ENV["EXCHANGE_API_SECRET_KEY"]  # the venue's key
    keys = []
    for trader in traders:
        api_key, secret = api_key_create(user=trader, scopes=["read", "trade"])
        keys.append((api_key.key, secret))
    redis_server = OwnRedis(tmp_path / "redis")
    redis_server.start()
    clone = clone_checkout(tmp_path)
    port = _free_port()
    launcher = start_venue(clone, redis_url=redis_server.url, port=port, log_path=tmp_path / "run.log",
                           EXCHANGE_RATE_LIMIT_ORDERS="100000", EXCHANGE_RATE_LIMIT_ACCOUNT_PER_MIN="1000000",
                           EXCHANGE_RATE_LIMIT_IP_PER_MIN="1000000")
    base = f"http://127.0.0.1:{port}"
    load = OrderLoad(base, keys)
    watcher = MarketWatcher(f"ws://127.0.0.1:{port}/ws/markets/BTC-USD/", base)

    def all_back(sizes: dict[str, int]) -> bool:
        venue = _venue(clone)
        return all(len(venue[role]) == size for role, size in sizes.items())

    def resynced(moment: float) -> None:
        wait_until(lambda: watcher.resynced_since(moment), timeout=2, interval=0.02,
                   message="the market socket to resync")

    try:
        wait_until(lambda: _healthy(base), timeout=90, message="the venue to start")
        sizes = {"gateway": 1, "web": 2, "matcher": 1, "surveillance": 1, "worker": 1, "beat": 1}
        wait_until(lambda: all_back(sizes), timeout=30, message="every process to run")
        load.start()
        watcher.start()
        wait_until(lambda: len(load.acknowledged) > 20, timeout=30, message="orders to flow")

        for role in sizes:  # kill -9 of each kind of process
            victim = _venue(clone)[role][0]
            os.kill(victim, signal.SIGKILL)
            wait_until(lambda role=role, victim=victim: victim not in _venue(clone)[role] and all_back(sizes),
                       timeout=10, message=f"{role} to be restarted")

        connection.ensure_connection()
        _cut_database(1.5)  # PostgreSQL restarted
        count = len(load.acknowledged)
        wait_until(lambda: len(load.acknowledged) > count + 10, timeout=15, message="orders after the database came back")
        assert all_back(sizes)

        for lose_data in (False, True):  # Redis restarted with its AOF, then with nothing
            redis_server.stop(lose_data=lose_data)
            time.sleep(0.5)
            redis_server.start()
            ended = time.monotonic()
            resynced(ended)
            count = len(load.acknowledged)
            wait_until(lambda count=count: len(load.acknowledged) > count + 10, timeout=20,
                       message="orders after Redis came back")
            assert all_back(sizes)
        load.stopping.set()
        load.join(timeout=15)
        settle_and_check([market], ledger_clean, wait, timeout=60)  # with the matcher still running
    finally:
        load.stopping.set()
        watcher.stopping.set()
        for thread in (load, watcher):
            if thread.is_alive():
                thread.join(timeout=15)
        stop_venue(launcher)
        redis_server.stop(lose_data=True)

    assert load.bad == [], load.bad[:5]
    assert set(load.statuses) <= {201, 400, 429, 503}, sorted(set(load.statuses))
    stored = set(Order.objects.filter(pk__in=load.acknowledged).values_list("pk", flat=True))
    assert stored == set(load.acknowledged)  # every acknowledged order is durable, once
    assert len(load.acknowledged) == len(set(load.acknowledged))
