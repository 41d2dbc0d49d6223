"""`make run`'s body (scripts/run.sh) on a fresh clone, in production shape: several Daphnes on one
port, every process supervised; a process killed with SIGKILL comes back by itself, and Ctrl-C
stops everything."""
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import requests

from tests.api.production import PRODUCTION_ENV
from tests.conftest import ROOT, database_url, wait_until

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _venue(clone: Path) -> dict[str, list[int]]:
    """Live processes started from ``clone``, by role."""
    roles = {"web": "daphne", "matcher": "run_matcher", "surveillance": "run_surveillance",
             "worker": " worker", "beat": " beat"}
    found: dict[str, list[int]] = {role: [] for role in roles}
    for process in psutil.process_iter(["pid", "cmdline", "cwd", "status"]):
        try:
            if process.info["cwd"] != str(clone) or process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cmdline = " ".join(process.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for role, marker in roles.items():
            # Celery's prefork pool children share the worker's command line: count the parent only.
            if marker in cmdline and "circusd" not in cmdline and not (
                    role == "worker" and psutil.Process(process.info["pid"]).parent().name() != "circusd"):
                found[role].append(process.info["pid"])
    return found


@pytest.mark.django_db(transaction=True)
def test_fresh_clone_runs_in_production_shape_and_restarts_what_dies(redis_url, tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    assert not (clone / "var").exists()
    port = _free_port()
    env = {**os.environ, **PRODUCTION_ENV, "DATABASE_URL": database_url(), "REDIS_URL": redis_url,
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "EXCHANGE_DEMO_MODE": "false", "PORT": str(port),
           "WEB_CONCURRENCY": "2", "PYTHONUNBUFFERED": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115 - closed below
    launcher = subprocess.Popen(["bash", "scripts/run.sh"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}/api/v1/markets"

    def serving() -> bool:
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(serving, timeout=90, message="the venue to answer")
        def complete() -> dict | None:
            venue = _venue(clone)
            return venue if all(venue.values()) and len(venue["web"]) == 2 else None

        venue = wait_until(complete, timeout=30, message="every process to run")
        for role, pids in venue.items():
            os.kill(pids[0], signal.SIGKILL)
            wait_until(lambda role=role, pids=pids: pids[0] not in _venue(clone)[role]
                       and len(_venue(clone)[role]) == len(pids), timeout=10, message=f"{role} to be restarted")
        assert launcher.poll() is None
        wait_until(serving, timeout=10, message="the venue to answer after the restarts")
        assert not any(serving() is False for _ in range(20))  # both web processes answer
    finally:
        os.killpg(launcher.pid, signal.SIGINT)
        try:
            launcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)
        log.close()
    wait_until(lambda: not any(_venue(clone).values()), timeout=20, message="every process to stop")
