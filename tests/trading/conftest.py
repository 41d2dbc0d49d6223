"""Fixtures for the order pipeline: a private Redis database and real matcher processes."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
TEST_REDIS_DB = 9


@pytest.fixture
def redis_url(settings):
    """A Redis database of the tests' own, empty at the start; the app's settings point at it."""
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    url = f"{base}/{TEST_REDIS_DB}"
    redis.Redis.from_url(url).flushdb()
    settings.REDIS_URL = url
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}}
    return url


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    host = s["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        return f"postgres://{s['USER']}@/{s['NAME']}?host={host}"
    return f"postgres://{s['USER']}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


class MatcherProcess:
    """A real ``manage.py run_matcher`` subprocess against the test database and Redis."""

    def __init__(self, redis_url: str, markets: list[str], log_path: Path) -> None:
        env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_matcher", "--markets", ",".join(markets)],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

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
