"""Shared fixtures. Tests run against the real PostgreSQL of DATABASE_URL (pytest-django makes a
``test_`` database beside it) and the real Redis of REDIS_URL; never SQLite, never a fake Redis.

Imports of Django code happen inside the fixtures so that the pure engine and detector tests
under this folder run without Django.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

PASSWORD = "correct-horse-battery-42"


@pytest.fixture
def assets(db):
    from exchange.markets.services import asset_get_or_create

    return {
        "BTC": asset_get_or_create(symbol="BTC", name="Bitcoin", decimals=8),
        "USD": asset_get_or_create(symbol="USD", name="US dollar", decimals=8),
        "ETH": asset_get_or_create(symbol="ETH", name="Ether", decimals=18),
    }


@pytest.fixture
def market(assets):
    from exchange.markets.services import market_create

    return market_create(
        base=assets["BTC"], quote=assets["USD"], tick_size="0.01", lot_size="0.0001",
        min_notional="10", min_quantity="0.0001", max_quantity="100", price_band_pct="10",
        maker_fee="0.001", taker_fee="0.002",
    )


@pytest.fixture
def eth_market(assets):
    """A second market (ETH-USD), for what spans markets."""
    from exchange.markets.services import market_create

    return market_create(base=assets["ETH"], quote=assets["USD"], tick_size="0.01", lot_size="0.001")


@pytest.fixture
def make_user(db):
    """``make_user("alice", USD="1000")``: a trader with deposited funds."""
    from exchange.accounts.services import user_create
    from exchange.ledger.services import deposit_credit
    from exchange.markets.models import Asset

    counter = iter(range(1, 10_000))

    def make(username: str | None = None, **funds: str):
        name = username or f"trader{next(counter)}"
        user = user_create(username=name, email=f"{name}@example.com", password=PASSWORD)
        for symbol, amount in funds.items():
            deposit_credit(user=user, asset=Asset.objects.get(symbol=symbol), amount=amount, reference=f"fixture:{name}:{symbol}")
        return user

    return make


@pytest.fixture
def ledger_clean():
    """Returns a function asserting that every ledger invariant holds."""
    from exchange.ledger.verification import verify_ledger

    def check() -> None:
        breaches = [(name, problems) for name, problems in verify_ledger() if problems]
        assert not breaches, breaches

    return check


def pytest_configure(config):
    """Hash test passwords with a fast hasher: PBKDF2's deliberate slowness only slows tests."""
    try:
        from django.conf import settings

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        # The test client speaks plain HTTP; the HTTPS redirect is covered by the deploy check.
        settings.SECURE_SSL_REDIRECT = False
        # Streams written by tests go to a Redis database of their own, never the app's.
        settings.REDIS_URL = settings.REDIS_URL.rsplit("/", 1)[0] + f"/{8 - xdist_worker_index()}"
        # django-axes needs a request in authenticate(), which the test client's login() does not
        # pass; the lockout test turns it on for itself.
        settings.AXES_ENABLED = False
        # Every test shares 127.0.0.1: the rate-limit tests set their own limits.
        settings.EXCHANGE_RATE_LIMITS = {"ip": (10**9, 60), "account": (10**9, 60), "orders": (10**9, 1)}
    except Exception:
        return


# ---------------------------------------------------------------- real processes
ROOT = Path(__file__).resolve().parent.parent
def _test_redis_db() -> int:
    """A Redis database per test database name (9-15), so that two test runs against different
    PostgreSQL databases on one machine never read each other's command streams."""
    import zlib

    name = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1].split("?")[0]
    return 9 + (zlib.crc32(name.encode()) + xdist_worker_index()) % 7


def xdist_worker_index() -> int:
    """0 alone or on pytest-xdist's first worker (``gw0``), 1 on ``gw1``...: each worker gets its
    own test database (pytest-django suffixes its name) and its own Redis databases."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker[2:].isdigit() else 0


TEST_REDIS_DB = _test_redis_db()


@pytest.fixture
def redis_url(settings):
    """A Redis database of the tests' own, empty at the start; the app's settings point at it."""
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    url = f"{base}/{TEST_REDIS_DB}"
    import redis

    redis.Redis.from_url(url).flushdb()
    settings.REDIS_URL = url
    return url


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    host = s["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        return f"postgres://{s['USER']}@/{s['NAME']}?host={host}"
    return f"postgres://{s['USER']}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


class ManageProcess:
    """A real ``manage.py COMMAND`` subprocess against the test database and Redis."""

    def __init__(self, command: list[str], *, redis_url: str, log_path: Path, **env_overrides: str) -> None:
        env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1",
               **env_overrides}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "manage.py", *command], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """SIGKILL: no clean-up, as in a crash."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class MatcherProcess(ManageProcess):
    """A real ``manage.py run_matcher`` for these markets."""

    def __init__(self, redis_url: str, markets: list[str], log_path: Path) -> None:
        super().__init__(["run_matcher", "--markets", ",".join(markets)], redis_url=redis_url, log_path=log_path)


@pytest.fixture
def start_matcher(redis_url, tmp_path):
    started: list[MatcherProcess] = []

    def start(*markets: str) -> MatcherProcess:
        process = MatcherProcess(redis_url, list(markets), tmp_path / f"matcher-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


@pytest.fixture
def wait():
    return wait_until


class WebServer:
    """A real Daphne process serving the app against the test database and Redis."""

    def __init__(self, redis_url: str, log_path: Path, **env_overrides: str) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis_url, "DJANGO_DEBUG": "true",
               "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "EXCHANGE_RATE_LIMIT_IP_PER_MIN": "1000000",
               "EXCHANGE_RATE_LIMIT_ACCOUNT_PER_MIN": "1000000", "EXCHANGE_RATE_LIMIT_ORDERS": "1000000",
               **env_overrides}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        daphne = Path(sys.executable).parent / "daphne"
        self.process = subprocess.Popen(
            [str(daphne), "-b", "127.0.0.1", "-p", str(self.port), "exchange.asgi:application"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        raise AssertionError(f"daphne did not start: {log_path.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


@pytest.fixture
def start_web(redis_url, tmp_path):
    started: list[WebServer] = []

    def start(**env: str) -> WebServer:
        server = WebServer(redis_url, tmp_path / f"web-{len(started)}.log", **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
