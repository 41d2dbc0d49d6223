"""Rate limits hold across web processes: the counters live in Redis, not in a process.

Two real Daphne servers share the limits; requests alternate between them."""
import sys
import time
from pathlib import Path

import pytest

from exchange.accounts.services import api_key_create

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from client import ExchangeClient

pytestmark = pytest.mark.django_db(transaction=True)


def away_from_window_edge(window: int) -> None:
    """Fixed windows: start a burst at the start of a fresh one, so the count is not split."""
    while time.time() % window > 0.5:
        time.sleep(0.05)


@pytest.fixture
def servers(start_web):
    limits = {"EXCHANGE_RATE_LIMIT_ACCOUNT_PER_MIN": "10", "EXCHANGE_RATE_LIMIT_IP_PER_MIN": "40",
              "EXCHANGE_RATE_LIMIT_WINDOW_S": "20", "EXCHANGE_RATE_LIMIT_ORDERS": "3",
              "EXCHANGE_RATE_LIMIT_ORDERS_WINDOW_S": "20"}
    return [start_web(**limits), start_web(**limits)]


def test_account_limit_across_two_servers(servers, market, make_user):
    key, secret = api_key_create(user=make_user(USD="1000"), scopes=["read"])
    clients = [ExchangeClient(s.url, key.key, secret) for s in servers]
    away_from_window_edge(20)
    statuses = [clients[i % 2].balances()[0] for i in range(14)]
    assert statuses[:10] == [200] * 10
    assert statuses[10:] == [429] * 4


def test_429_says_when_to_retry(servers, market, make_user):
    key, secret = api_key_create(user=make_user(USD="1000"), scopes=["read"])
    client = ExchangeClient(servers[0].url, key.key, secret)
    away_from_window_edge(20)
    for _ in range(10):
        client.balances()
    import urllib.error
    import urllib.request

    timestamp = str(int(time.time() * 1000))
    request = urllib.request.Request(servers[1].url + "/api/v1/balances", headers={
        "X-API-KEY": key.key, "X-API-TIMESTAMP": timestamp,
        "X-API-SIGNATURE": client.sign(timestamp, "GET", "/api/v1/balances", b"")})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 429
    assert 1 <= int(info.value.headers["Retry-After"]) <= 21
    assert b'"rate_limited"' in info.value.read()


def test_order_rate_limit_across_two_servers(servers, market, make_user):
    key, secret = api_key_create(user=make_user(USD="100000"), scopes=["read", "trade"])
    clients = [ExchangeClient(s.url, key.key, secret) for s in servers]
    away_from_window_edge(20)
    statuses = [clients[i % 2].place_order("BTC-USD", "buy", "1", "100")[0] for i in range(5)]
    assert statuses == [201, 201, 201, 429, 429]


def test_ip_limit_across_two_servers(servers, market):
    anonymous = [ExchangeClient(s.url) for s in servers]
    away_from_window_edge(20)
    statuses = [anonymous[i % 2].request("GET", "orders")[0] for i in range(44)]
    assert statuses.count(401) == 40
    assert statuses[40:] == [429] * 4
