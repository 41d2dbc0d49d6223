"""One API-key check for both doors (``exchange/api/keys.py``): every case runs against a signed
REST order and against the private WebSocket's ``auth`` message, through a real Daphne with
DEBUG off, so the two can never drift apart again (issue 20 item 1, issue 15)."""
import json
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from websockets.sync.client import connect

from exchange.accounts.models import ApiKey, UserStatus
from exchange.accounts.services import api_key_create, api_key_revoke, user_set_status
from exchange.api.signing import signature
from exchange.marketdata.auth import ws_signature
from exchange.trading.models import Order

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = json.dumps({"market": "BTC-USD", "side": "buy", "type": "limit", "price": "100", "quantity": "1"}).encode()


class RestDoor:
    """A signed ``POST /api/v1/orders``: accepted is a 201."""

    def __init__(self, web) -> None:
        self.web = web
        self.statuses: list[int] = []

    @staticmethod
    def sign(secret: str, timestamp: str) -> str:
        return signature(secret, timestamp, "POST", "/api/v1/orders", ORDER)

    def send(self, key, timestamp, sent) -> str | None:
        """None if accepted, else the error code."""
        headers = {"Content-Type": "application/json", "X-API-KEY": key, "X-API-TIMESTAMP": timestamp,
                   "X-API-SIGNATURE": sent}
        response = requests.post(self.web.url + "/api/v1/orders", data=ORDER, headers=headers, timeout=10)
        assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
        self.statuses.append(response.status_code)
        if response.status_code == 201:
            return None
        assert 400 <= response.status_code < 500, response.text[:300]
        return response.json()["error"]["code"]


class WsDoor:
    """The ``auth`` message on ``/ws/user/``: accepted is a ``subscribed`` frame."""

    def __init__(self, web) -> None:
        self.web = web

    @staticmethod
    def sign(secret: str, timestamp: str) -> str:
        return ws_signature(secret, timestamp)

    def send(self, key, timestamp, sent) -> str | None:
        url = self.web.url.replace("http://", "ws://") + "/ws/user/"
        with connect(url, origin=self.web.url, open_timeout=10) as ws:
            ws.send(json.dumps({"type": "auth", "key": key, "timestamp": timestamp, "signature": sent}))
            frame = json.loads(ws.recv(timeout=10))
        if frame["type"] == "subscribed":
            return None
        assert frame["type"] == "error", frame
        return frame["code"]


@pytest.fixture(params=["rest", "ws"])
def door(request, production_web, market):
    return {"rest": RestDoor, "ws": WsDoor}[request.param](production_web)


@pytest.fixture
def key(make_user):
    user = make_user(USD="100000")
    api_key, secret = api_key_create(user=user, scopes=["read", "trade"])
    return api_key, secret


def now_ms() -> str:
    return str(int(time.time() * 1000))


def test_a_signature_is_accepted_once_whatever_its_case(door, key):
    """The replay guard keyed the signature as sent, so an upper- or mixed-case copy of a used
    signature was accepted again: four orders from one signature."""
    api_key, secret = key
    timestamp = now_ms()
    sent = door.sign(secret, timestamp)
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(sent))
    results = [door.send(api_key.key, timestamp, variant) for variant in (sent.upper(), sent, mixed, sent.swapcase())]
    assert results == [None, "replayed_request", "replayed_request", "replayed_request"]
    if isinstance(door, RestDoor):
        assert door.statuses == [201, 401, 401, 401]
        assert Order.objects.count() == 1


@pytest.mark.parametrize(("field", "value", "code"), [
    ("timestamp", "1" * 5000, "invalid_timestamp"),  # int() refuses more than 4,300 digits: was a 500
    ("sent", "\u00e9" * 64, "invalid_signature"),  # compare_digest refuses non-ASCII text: was a 500
])
def test_absurd_credentials_are_a_clear_refusal(door, key, field, value, code):
    api_key, secret = key
    timestamp = now_ms()
    args = {"key": api_key.key, "timestamp": timestamp, "sent": door.sign(secret, timestamp), field: value}
    assert door.send(args["key"], args["timestamp"], args["sent"]) == code
    assert not Order.objects.exists()


def test_bookkeeping_is_once_a_minute_and_revocation_still_takes_a_second(door, key, make_user):
    """``last_used_at`` was written on every request; now at most once a minute per key, with the
    key and its owner's status cached for a second, so revoking and freezing still bite at once."""
    api_key, secret = key
    recently = timezone.now() - timedelta(seconds=30)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=recently)
    timestamp = now_ms()
    assert door.send(api_key.key, timestamp, door.sign(secret, timestamp)) is None
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == recently  # used 30 s ago: not written again

    long_ago = timezone.now() - timedelta(seconds=90)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=long_ago)
    time.sleep(1.2)  # the cached key expires
    timestamp = now_ms()
    assert door.send(api_key.key, timestamp, door.sign(secret, timestamp)) is None
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at > timezone.now() - timedelta(seconds=10)

    user_set_status(user=api_key.user, status=UserStatus.FROZEN)
    time.sleep(1.2)
    timestamp = now_ms()
    assert door.send(api_key.key, timestamp, door.sign(secret, timestamp)) == "account_frozen"

    other, other_secret = api_key_create(user=make_user(USD="1000"), scopes=["read", "trade"])
    timestamp = now_ms()
    assert door.send(other.key, timestamp, door.sign(other_secret, timestamp)) is None
    api_key_revoke(api_key=other)
    time.sleep(1.2)
    timestamp = now_ms()
    assert door.send(other.key, timestamp, door.sign(other_secret, timestamp)) == "api_key_revoked"



def verify_in_process(key: str, secret: str) -> str | None:
    """The check itself, without a door or the replay guard: None if accepted, else the code."""
    from exchange.api.keys import api_key_verify
    from exchange.errors import ExchangeError

    timestamp = now_ms()
    try:
        api_key_verify(key=key, timestamp=timestamp, sent=RestDoor.sign(secret, timestamp), method="POST",
                       path_with_query="/api/v1/orders", body=ORDER, client_ip="127.0.0.1", defer_replay=True)
    except ExchangeError as exc:
        return exc.code
    return None


def test_a_secret_the_current_key_cannot_decrypt_is_refused_like_an_unknown_key(market, key, settings, caplog):
    """The secret is decrypted when the key is loaded (once per cache entry, not per request);
    under another EXCHANGE_API_SECRET_KEY it cannot be, and the key is refused and logged, as it
    was when each request decrypted it."""
    from exchange.api.keys import api_key_cache_clear

    api_key, secret = key

    def verify() -> str | None:
        return verify_in_process(api_key.key, secret)

    written_under = settings.EXCHANGE_API_SECRET_KEY
    api_key_cache_clear()
    assert verify() is None
    settings.EXCHANGE_API_SECRET_KEY = "another-api-secret-key-" * 2
    assert verify() is None  # the cached entry holds the secret decrypted when it was loaded
    api_key_cache_clear()
    assert verify() == "invalid_api_key"
    assert "cannot be decrypted with the current EXCHANGE_API_SECRET_KEY" in caplog.text
    settings.EXCHANGE_API_SECRET_KEY = written_under
    api_key_cache_clear()
    assert verify() is None


def test_a_key_is_loaded_with_its_owner_and_their_status_in_one_query(market, key):
    """The cache entry (the key, its owner, frozen or not) is one SELECT, once a second per key and
    process; freezing the owner still refuses the key once the entry is loaded again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from exchange.api.keys import api_key_cache_clear

    api_key, secret = key

    def verify() -> str | None:
        return verify_in_process(api_key.key, secret)

    api_key_cache_clear()
    with CaptureQueriesContext(connection) as queries:
        assert verify() is None
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 1, selects
    user_set_status(user=api_key.user, status=UserStatus.FROZEN)
    api_key_cache_clear()
    assert verify() == "account_frozen"
