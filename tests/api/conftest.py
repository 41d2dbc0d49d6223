"""Signed requests for the API tests, built by the documented example client's own signer."""
import json
import time

import pytest

from exchange.accounts.services import api_key_create
from exchange.api.signing import signature


class Signed:
    """A Django test client that signs every request with an API key."""

    def __init__(self, client, key: str, secret: str) -> None:
        self.client = client
        self.key = key
        self.secret = secret

    def headers(self, method: str, path: str, body: bytes = b"", *, timestamp: str | None = None, secret: str | None = None):
        timestamp = timestamp or str(int(time.time() * 1000))
        return {
            "HTTP_X_API_KEY": self.key,
            "HTTP_X_API_TIMESTAMP": timestamp,
            "HTTP_X_API_SIGNATURE": signature(secret or self.secret, timestamp, method, path, body),
        }

    def call(self, method: str, path: str, body: dict | None = None, **overrides):
        data = json.dumps(body).encode() if body is not None else b""
        headers = self.headers(method, path, data, **overrides)
        return self.client.generic(method, path, data=data, content_type="application/json", **headers)


@pytest.fixture
def signed(client, redis_url):
    def make(user, scopes=("read", "trade"), allowed_ips=None) -> Signed:
        api_key, secret = api_key_create(user=user, scopes=list(scopes), allowed_ips=allowed_ips)
        return Signed(client, api_key.key, secret)

    return make
