"""Every way a signed request can be wrong gets a 401/403 with a precise code."""
import time

import pytest
from django.test import Client

from exchange.accounts.models import ApiKey, UserStatus
from exchange.accounts.services import api_key_revoke, user_set_status
from exchange.trading.models import Order

pytestmark = pytest.mark.django_db

ORDER = {"market": "BTC-USD", "side": "buy", "type": "limit", "price": "100", "quantity": "1"}


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_a_correctly_signed_order_is_placed(market, make_user, signed):
    api = signed(make_user(USD="1000"))
    response = api.call("POST", "/api/v1/orders", ORDER)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["price"], body["quantity"]) == ("pending", "100", "1")
    assert ApiKey.objects.get(key=api.key).last_used_at is not None


def test_wrong_secret(market, make_user, signed):
    api = signed(make_user(USD="1000"))
    response = api.client.post("/api/v1/orders", data=b"{}", content_type="application/json",
                               **api.headers("POST", "/api/v1/orders", b"{}", secret="0" * 64))
    assert error(response) == (401, "invalid_signature")


def test_altered_body(market, make_user, signed):
    api = signed(make_user(USD="1000"))
    signed_body = b'{"market": "BTC-USD", "side": "buy", "price": "100", "quantity": "1"}'
    sent_body = signed_body.replace(b'"1"}', b'"9"}')
    response = api.client.post("/api/v1/orders", data=sent_body, content_type="application/json",
                               **api.headers("POST", "/api/v1/orders", signed_body))
    assert error(response) == (401, "invalid_signature")
    assert not Order.objects.exists()


def test_altered_path_or_query(market, make_user, signed):
    api = signed(make_user(USD="1000"))
    headers = api.headers("GET", "/api/v1/orders?status=open")
    assert error(api.client.get("/api/v1/orders?status=closed", **headers)) == (401, "invalid_signature")
    headers = api.headers("GET", "/api/v1/balances")
    assert error(api.client.get("/api/v1/fills", **headers)) == (401, "invalid_signature")


def test_stale_and_future_timestamps(market, make_user, signed):
    api = signed(make_user(USD="1000"))
    old = str(int(time.time() * 1000) - 6000)
    assert error(api.call("GET", "/api/v1/balances", timestamp=old)) == (401, "stale_timestamp")
    future = str(int(time.time() * 1000) + 6000)
    assert error(api.call("GET", "/api/v1/balances", timestamp=future)) == (401, "stale_timestamp")
    assert error(api.call("GET", "/api/v1/balances", timestamp="yesterday")) == (401, "invalid_timestamp")


def test_replayed_request(market, make_user, signed):
    api = signed(make_user(USD="1000"))
    data = b'{"market": "BTC-USD", "side": "buy", "price": "100", "quantity": "1"}'
    headers = api.headers("POST", "/api/v1/orders", data)
    first = api.client.post("/api/v1/orders", data=data, content_type="application/json", **headers)
    assert first.status_code == 201
    again = Client().post("/api/v1/orders", data=data, content_type="application/json", **headers)
    assert error(again) == (401, "replayed_request")
    assert Order.objects.count() == 1


def test_revoked_key(market, make_user, signed):
    api = signed(make_user(USD="1000"))
    api_key_revoke(api_key=ApiKey.objects.get(key=api.key))
    assert error(api.call("GET", "/api/v1/balances")) == (401, "api_key_revoked")


def test_unknown_key_and_missing_headers(market, make_user, signed):
    api = signed(make_user(USD="1000"))
    api.key = "f" * 32
    assert error(api.call("GET", "/api/v1/balances")) == (401, "invalid_api_key")
    response = Client().get("/api/v1/balances", HTTP_X_API_KEY="abc")
    assert error(response) == (401, "signature_missing")


def test_missing_scope(market, make_user, signed):
    api = signed(make_user(USD="1000"), scopes=("read",))
    assert api.call("GET", "/api/v1/balances").status_code == 200
    assert error(api.call("POST", "/api/v1/orders", ORDER)) == (403, "missing_scope")
    assert error(api.call("DELETE", "/api/v1/orders")) == (403, "missing_scope")
    assert not Order.objects.exists()


def test_ip_not_allowed(market, make_user, signed):
    api = signed(make_user(USD="1000"), allowed_ips=["10.1.2.3"])
    assert error(api.call("GET", "/api/v1/balances")) == (403, "ip_not_allowed")
    allowed = signed(make_user(USD="1000"), allowed_ips=["127.0.0.1"])
    assert allowed.call("GET", "/api/v1/balances").status_code == 200


def test_frozen_account(market, make_user, signed):
    user = make_user(USD="1000")
    api = signed(user)
    user_set_status(user=user, status=UserStatus.FROZEN)
    assert error(api.call("GET", "/api/v1/balances")) == (403, "account_frozen")


def test_first_use_from_a_new_address_is_a_security_event(market, make_user, signed):
    from exchange.accounts.models import SecurityEvent

    user = make_user(USD="1000")
    api = signed(user)
    assert api.call("GET", "/api/v1/balances").status_code == 200
    assert api.call("GET", "/api/v1/balances").status_code == 200
    events = SecurityEvent.objects.filter(user=user, kind="api_key_new_ip")
    assert [e.ip for e in events] == ["127.0.0.1"]
