"""`make run`'s body (scripts/run.sh) on a fresh clone, in production shape: the gateway (HAProxy)
on the port in front of several Daphnes, every process supervised; a process killed with SIGKILL comes back by itself, and Ctrl-C
stops everything."""
import io
import os
import signal
import socket
from pathlib import Path

import psutil
import pytest
import requests

from tests.conftest import wait_until
from tests.infra.venue import clone_checkout, start_venue, stop_venue

pytestmark = [pytest.mark.slow, pytest.mark.whole_venue]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _venue(clone: Path) -> dict[str, list[int]]:
    """Live processes started from ``clone``, by role."""
    roles = {"gateway": "haproxy -db", "web": "daphne", "matcher": "run_matcher", "surveillance": "run_surveillance",
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
    clone = clone_checkout(tmp_path)
    assert not (clone / "var").exists()
    port = _free_port()
    launcher = start_venue(clone, redis_url=redis_url, port=port, log_path=tmp_path / "run.log")
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
        stop_venue(launcher)
    wait_until(lambda: not any(_venue(clone).values()), timeout=20, message="every process to stop")


def _launcher():
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location("launch", ROOT / "scripts" / "launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("gateway", ["haproxy", "none"])
def test_the_launcher_configuration_in_both_shapes(gateway):
    """With the gateway: HAProxy on the public socket, one watcher and loopback socket per Daphne,
    the gateway trusted for X-Forwarded-For; without: the Daphnes share the public socket. Either
    way environment names reach the processes with their case (configparser lowers them)."""
    launch = _launcher()
    env = {"PATH": os.environ.get("PATH", "") + ":/usr/sbin", "PORT": "8123", "WEB_CONCURRENCY": "3",
           "EXCHANGE_GATEWAY": gateway, "TRUSTED_PROXIES": "10.0.0.0/8"}
    config, haproxy = launch.circus_config(env, ports=[9001, 9002, 9003])
    watchers = {s.split(":", 1)[1] for s in config.sections() if s.startswith("watcher:")}
    assert config["socket:" + ("public" if gateway == "haproxy" else "web")]["port"] == "8123"
    if gateway == "haproxy":
        assert {"gateway", "web_1", "web_2", "web_3"} <= watchers
        assert config["socket:web_2"]["port"] == "9002"
        assert config["env:web_1"]["TRUSTED_PROXIES"] == "10.0.0.0/8,127.0.0.1"
        assert "TRUSTED_PROXIES = 10.0.0.0/8,127.0.0.1" in _written(config)
        assert "server web_3 127.0.0.1:9003" in haproxy
    else:
        assert "gateway" not in watchers
        assert config["watcher:web"]["numprocesses"] == "3"
        assert haproxy is None
    assert "EXCHANGE_PROCESS = matcher" in _written(config)


def _written(config) -> str:
    text = io.StringIO()
    config.write(text)
    return text.getvalue()
