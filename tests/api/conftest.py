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


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    from tests.api.production import collect_static

    return collect_static(tmp_path_factory.mktemp("static"))



@pytest.fixture(scope="module")
def production_server(django_db_setup, static_root, tmp_path_factory):
    """One Daphne with DEBUG off for a whole test module (starting one costs seconds)."""
    from tests.api.production import PRODUCTION_ENV, redis_url_for_tests
    from tests.conftest import WebServer

    server = WebServer(redis_url_for_tests(), tmp_path_factory.mktemp("web") / "web.log", **PRODUCTION_ENV,
                       DJANGO_STATIC_ROOT=str(static_root))
    yield server
    server.stop()


@pytest.fixture
def production_web(production_server, settings, redis_url):
    """The module's Daphne with DEBUG off; keys and sessions made by the test are readable by it."""
    from tests.api.production import API_SECRET_KEY, SECRET_KEY

    settings.EXCHANGE_API_SECRET_KEY, settings.SECRET_KEY = API_SECRET_KEY, SECRET_KEY
    return production_server


@pytest.fixture(autouse=True)
def _close_doors():
    """Every ``SignedOrderDoor`` a test opened (tests/api/door.py) is closed after it."""
    from tests.api.door import doors_close

    yield
    doors_close()
