"""Signed API requests for the front-door tests: through Django's test client, or over real HTTP
to a Daphne started by ``start_web``."""
import json
import time

import pytest

from exchange.api.signing import signature


def signed_headers(key: str, secret: str, method: str, path: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time() * 1000))
    return {"X-API-KEY": key, "X-API-TIMESTAMP": timestamp, "X-API-SIGNATURE": signature(secret, timestamp, method, path, body),
            "Content-Type": "application/json"}


class SignedClient:
    """Django's test client, every request signed with one API key."""

    def __init__(self, client, key: str, secret: str) -> None:
        self.client, self.key, self.secret = client, key, secret

    def call(self, method: str, path: str, body: object = None, *, raw: tuple[dict, bytes] | None = None):
        if raw is not None:  # resend exactly these headers and body (a replay)
            headers, data = raw
        else:
            data = json.dumps(body).encode() if body is not None else b""
            headers = signed_headers(self.key, self.secret, method, path, data)
        self.last = (headers, data)
        return self.client.generic(method, path, data=data, content_type="application/json",
                                   headers={k: v for k, v in headers.items() if k != "Content-Type"})


@pytest.fixture
def api_key_for(redis_url):
    """``api_key_for(user)``: (key, secret) of a new read+trade key."""
    from exchange.accounts.services import api_key_create

    def make(user) -> tuple[str, str]:
        api_key, secret = api_key_create(user=user, scopes=["read", "trade"])
        return api_key.key, secret

    return make


@pytest.fixture
def signed_client(client, api_key_for):
    def make(user) -> SignedClient:
        return SignedClient(client, *api_key_for(user))

    return make


class HttpSigner:
    """Signed requests over real HTTP (httpx), for the tests that start Daphne."""

    def __init__(self, key: str, secret: str) -> None:
        self.key, self.secret = key, secret
        self.counter = 0

    def order(self, market: str = "BTC-USD") -> tuple[str, bytes]:
        self.counter += 1  # a unique body: two identical signed requests would be a replay
        body = {"market": market, "side": "buy", "price": "90", "quantity": "0.2", "client_order_id": f"o{self.counter}"}
        return "/api/v1/orders", json.dumps(body).encode()

    def headers(self, method: str, path: str, body: bytes = b"") -> dict[str, str]:
        return signed_headers(self.key, self.secret, method, path, body)


@pytest.fixture
def trader_key(market, make_user, api_key_for):
    """A trader with plenty of USD and a read+trade key, as an ``HttpSigner``."""
    return HttpSigner(*api_key_for(make_user("bot", USD="10000000")))
