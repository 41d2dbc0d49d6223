"""The gateway (HAProxy, exchange/infra/gateway.py) in front of a real Daphne: its configuration
is one HAProxy accepts; with order entry full it refuses at once with 503, Retry-After and the
error body while market data is served; a web process killed in the middle of a request gives
503 JSON, not a 502 page; and Django sees the client's address, not the proxy's."""
import shutil
import signal
import socket
import statistics
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from exchange.infra.gateway import GatewayLimits, haproxy_config
from exchange.trading.models import Order
from tests.conftest import wait_until
from tests.frontdoor.conftest import lock_balance, refusals_while_one_order_waits
from tests.infra.test_client_ip import _client_addr

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
LIMITS = GatewayLimits(orders_per_process=1, requests_per_process=8, orders_queue=2, queue_ms=10, retry_after=1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gateway:
    def __init__(self, tmp_path: Path, servers: list[tuple[str, str]], limits: GatewayLimits = LIMITS) -> None:
        self.port = _free_port()
        config = tmp_path / "haproxy.cfg"
        config.write_text(haproxy_config(bind=f"127.0.0.1:{self.port}", servers=servers, limits=limits))
        self.log = (tmp_path / "haproxy.log").open("wb")
        self.process = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

        def up() -> bool:
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=20, message="the gateway to reach the web process")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def gateway(tmp_path):
    started: list[Gateway] = []

    def start(*webs, limits: GatewayLimits = LIMITS) -> Gateway:
        servers = [(f"web_{n}", f"127.0.0.1:{web.port}") for n, web in enumerate(webs, start=1)]
        started.append(Gateway(tmp_path, servers, limits))
        return started[-1]

    yield start
    for gw in started:
        gw.stop()


def test_the_generated_configuration_is_valid_haproxy(tmp_path):
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(bind='"fd@${GATEWAY_FD}"', servers=[("web_1", "127.0.0.1:9001"),
                                                                          ("web_2", "127.0.0.1:9002")], limits=LIMITS))
    with socket.socket() as listening:  # what the launcher's circus binds and hands over
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        checked = subprocess.run([HAPROXY, "-c", "-f", str(config)], capture_output=True, text=True,
                                 env={"GATEWAY_FD": str(listening.fileno())}, pass_fds=[listening.fileno()])
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.django_db(transaction=True)
def test_order_entry_full_is_refused_at_the_gateway_while_market_data_is_served(start_web, gateway, trader_key):
    web = start_web(EXCHANGE_API_RECV_WINDOW_MS="60000")
    door = gateway(web)
    accepted, refusals, depth = refusals_while_one_order_waits(door.url, trader_key, lock_balance("bot", "USD"), 20)
    assert [r.status_code for r, _ in refusals] == [503] * 20
    for response, _ in refusals:
        assert response.headers["Retry-After"] == "1"
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {"error": {"code": "overloaded", "message": "order entry is busy: retry shortly"}}
    seconds = sorted(s for _, s in refusals)
    assert statistics.median(seconds) < 0.05, seconds  # the queue waits 10 ms at most
    assert seconds[-2] < 0.05, seconds
    assert depth.status_code == 200
    assert accepted.status_code == 201
    assert Order.objects.count() == 1  # the refused orders never reached Django


@pytest.mark.django_db(transaction=True)
def test_a_web_process_killed_mid_request_answers_503_json(start_web, gateway, trader_key):
    web = start_web(EXCHANGE_API_RECV_WINDOW_MS="60000")
    door = gateway(web)
    locker = lock_balance("bot", "USD")
    try:
        httpx.get(door.url + "/api/v1/markets/BTC-USD/depth", timeout=30)  # the URLconf is loaded

        def kill_soon() -> None:
            time.sleep(1.0)
            web.process.send_signal(signal.SIGKILL)

        killer = threading.Thread(target=kill_soon)
        killer.start()
        path, body = trader_key.order()
        response = httpx.post(door.url + path, content=body, headers=trader_key.headers("POST", path, body), timeout=30)
        killer.join()
    finally:
        locker.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "unavailable"


@pytest.mark.django_db(transaction=True)
def test_per_ip_limits_see_the_client_behind_the_gateway(start_web, gateway):
    """The launcher trusts the gateway on loopback (TRUSTED_PROXIES gets 127.0.0.1); the hop the
    gateway appends is the address it saw, so each client behind it has a bucket of its own."""
    web = start_web(TRUSTED_PROXIES="127.0.0.1", EXCHANGE_RATE_LIMIT_IP_PER_MIN="3", EXCHANGE_RATE_LIMIT_WINDOW_S="60")
    door = gateway(web)
    while time.time() % 60 > 50:  # keep the burst inside one fixed window
        time.sleep(0.5)
    first, second = _client_addr(), _client_addr("203.0.113")
    statuses = [httpx.get(door.url + "/api/v1/markets", headers={"X-Forwarded-For": first}).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert httpx.get(door.url + "/api/v1/markets", headers={"X-Forwarded-For": second}).status_code == 200
