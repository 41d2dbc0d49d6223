"""Signed API requests for the front-door tests: through Django's test client, or over real HTTP
to a Daphne started by ``start_web``."""
import asyncio
import json
import time

import httpx
import psycopg
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


def lock_balance(username: str, asset: str) -> psycopg.Connection:
    """Hold a trader's balance row from another session, so that the order admitted next waits
    on it in the committer (and keeps its place in the door) until ``rollback()``."""
    from django.db import connection

    from exchange.ledger.models import Balance

    s = connection.settings_dict
    locker = psycopg.connect(dbname=s["NAME"], user=s["USER"], host=s["HOST"] or "127.0.0.1", port=str(s["PORT"] or 5432))
    balance = Balance.objects.get(account__user__username=username, asset__symbol=asset)
    locker.execute("SELECT 1 FROM ledger_balance WHERE id = %s FOR UPDATE", [balance.pk])
    return locker


def refusals_while_one_order_waits(url: str, signer: HttpSigner, locker: psycopg.Connection, count: int):
    """One order admitted and blocked on ``locker``'s row; then ``count`` orders one after
    another on a second connection, each timed; then a depth request; then the lock goes.
    Returns (the blocked order's response, [(response, seconds)], the depth response)."""

    async def run():
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            await client.get("/api/v1/markets/BTC-USD/depth")  # loads the URLconf, opens the connection
            path, body = signer.order()
            blocked = asyncio.ensure_future(client.post(path, content=body, headers=signer.headers("POST", path, body)))
            await asyncio.sleep(1.0)  # it is in flight, waiting for the lock
            refusals = []
            async with httpx.AsyncClient(base_url=url, timeout=30) as other:
                await other.get("/api/v1/markets/BTC-USD/depth")
                for _ in range(count):
                    path, body = signer.order()
                    started = time.monotonic()
                    response = await other.post(path, content=body, headers=signer.headers("POST", path, body))
                    refusals.append((response, time.monotonic() - started))
                depth = await other.get("/api/v1/markets/BTC-USD/depth")
            await asyncio.get_running_loop().run_in_executor(None, locker.rollback)
            return await blocked, refusals, depth

    try:
        return asyncio.run(run())
    finally:
        locker.close()
