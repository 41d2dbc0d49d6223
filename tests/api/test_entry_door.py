"""Signed order entry takes the short way (the ASGI ``SignedOrderDoor``, exchange/trading/entry_door.py)
and answers exactly as the long way (Django's whole request cycle) does; everything else goes the
long way."""
import json

import pytest
from django.test import Client

from exchange.trading.models import Order
from tests.api.door import ORDER, Caller, through_door

pytestmark = pytest.mark.django_db(transaction=True)


def _outcome(status: int, body: bytes) -> tuple:
    data = json.loads(body)
    if "error" in data:
        return status, data["error"]["code"]
    if "results" in data:
        return status, tuple((r["status"], r.get("error", {}).get("code")) for r in data["results"])
    return status, data["status"], data["side"], data["price"], data["quantity"]


CASES = {
    "an order": ("/api/v1/orders", json.dumps(ORDER).encode(), {}),
    "a batch": ("/api/v1/orders/batch", json.dumps({"orders": [ORDER, {**ORDER, "price": "oops"}]}).encode(), {}),
    "a wrong signature": ("/api/v1/orders", json.dumps(ORDER).encode(), {"secret": "not-the-secret"}),
    "an unknown key": ("/api/v1/orders", json.dumps(ORDER).encode(), {"key": "f" * 32}),
    "a stale timestamp": ("/api/v1/orders", json.dumps(ORDER).encode(), {"timestamp": "1000000000000"}),
    "an invalid side": ("/api/v1/orders", json.dumps({**ORDER, "side": "sideways"}).encode(), {}),
    "broken JSON": ("/api/v1/orders", b"{not json", {}),
    "a body that is not UTF-8": ("/api/v1/orders", b'{"market": "\xff\xfe"}', {}),
    "JSON nested too deep": ("/api/v1/orders", b"[" * 5000 + b"]" * 5000, {}),
    "a list instead of an object": ("/api/v1/orders", b"[1, 2]", {}),
    "not enough funds": ("/api/v1/orders", json.dumps({**ORDER, "quantity": "100"}).encode(), {}),
    "a text body": ("/api/v1/orders", b"market=BTC-USD", {"content_type": "text/plain"}),
    "a body too large": ("/api/v1/orders", b'{"pad": "' + b"x" * 300_000 + b'"}', {}),
    "a batch of non-objects": ("/api/v1/orders/batch", b'{"orders": [1, 2]}', {}),
    "a query that is not UTF-8": ("/api/v1/orders", json.dumps(ORDER).encode(), {"query": "x=%ff%fe"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_short_way_answers_as_the_long_way(case, market, make_user):
    from exchange.accounts.services import api_key_create

    path, body, options = CASES[case]
    key, secret = api_key_create(user=make_user("alice", USD="10000"), scopes=["read", "trade"])
    caller = Caller(key.key, secret)
    short_status, headers, short_body = caller.short(path, body, **options)
    long = caller.long(path, body, **options)
    assert headers["content-type"].startswith("application/json")
    assert headers["x-content-type-options"] == "nosniff"  # what SecurityMiddleware gives the long way
    assert _outcome(short_status, short_body) == _outcome(long.status_code, long.content), (short_body, long.content)
    assert caller.door.app.paths == []  # the short way answered it


def test_a_read_only_key_is_refused_the_short_way(market, make_user):
    from exchange.accounts.services import api_key_create

    key, secret = api_key_create(user=make_user("bob", USD="10000"), scopes=["read"])
    status, _, body = Caller(key.key, secret).short("/api/v1/orders", json.dumps(ORDER).encode())
    assert (status, json.loads(body)["error"]["code"]) == (403, "missing_scope")
    assert Order.objects.count() == 0


def test_orders_placed_the_short_way_are_placed_once(market, make_user):
    from exchange.accounts.services import api_key_create

    key, secret = api_key_create(user=make_user("alice", USD="10000"), scopes=["read", "trade"])
    caller = Caller(key.key, secret)
    first = caller.short("/api/v1/orders", json.dumps({**ORDER, "client_order_id": "c-1"}).encode())
    again = caller.short("/api/v1/orders", json.dumps({**ORDER, "client_order_id": "c-1"}).encode())
    batch = caller.short("/api/v1/orders/batch", json.dumps({"orders": [{**ORDER, "client_order_id": "c-2"}] * 3}).encode())
    assert first[0] == again[0] == 201
    assert json.loads(first[2])["id"] == json.loads(again[2])["id"]
    assert [r["status"] for r in json.loads(batch[2])["results"]] == [201, 201, 201]
    assert Order.objects.filter(user__username="alice").count() == 2


def test_everything_else_goes_the_long_way(market, make_user):
    from exchange.accounts.services import api_key_create

    key, secret = api_key_create(user=make_user("alice", USD="10000"), scopes=["read", "trade"])
    caller = Caller(key.key, secret)
    body = json.dumps(ORDER).encode()
    unsigned = through_door(caller.door, "POST", "/api/v1/orders", body, {})  # a browser's: session and CSRF
    listing = through_door(caller.door, "GET", "/api/v1/orders", b"", caller.headers("GET", "/api/v1/orders", b""))
    other = through_door(caller.door, "POST", "/api/v1/withdrawals", body, caller.headers("POST", "/api/v1/withdrawals", body))
    assert [unsigned[0], listing[0], other[0]] == [299, 299, 299]
    assert caller.door.app.paths == ["/api/v1/orders", "/api/v1/orders", "/api/v1/withdrawals"]


def test_a_session_order_still_needs_its_csrf_token(market, make_user):
    """Without ``X-API-KEY`` the request is the browser's: CSRF, second factor and the rest apply."""
    alice = make_user("alice", USD="10000")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = browser.post("/api/v1/orders", data=json.dumps(ORDER), content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] in ("permission_denied", "csrf_failed"), response.json()
    assert Order.objects.count() == 0
