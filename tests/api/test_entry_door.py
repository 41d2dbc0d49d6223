"""Signed order entry takes the short way (exchange/trading/entry_door.py) and answers as the
long way does; everything else still goes through the whole middleware stack."""
import json

import pytest
from django.test import Client

from exchange.trading.models import Order

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = {"market": "BTC-USD", "side": "buy", "price": "30000", "quantity": "0.01"}


def _session_calls(monkeypatch) -> list[str]:
    """Record every time a request's session is loaded: the browser's middleware at work."""
    from django.contrib.sessions.middleware import SessionMiddleware

    seen: list[str] = []
    original = SessionMiddleware.process_request

    def recording(self, request):
        seen.append(request.path)
        return original(self, request)

    monkeypatch.setattr(SessionMiddleware, "process_request", recording)
    return seen


def test_a_signed_order_skips_the_browser_middleware(market, make_user, signed, monkeypatch):
    seen = _session_calls(monkeypatch)
    trader = signed(make_user("alice", USD="10000"))
    placed = trader.call("POST", "/api/v1/orders", ORDER)
    batch = trader.call("POST", "/api/v1/orders/batch", {"orders": [ORDER, {**ORDER, "price": "oops"}]})
    assert placed.status_code == 201, placed.content
    assert [r["status"] for r in batch.json()["results"]] == [201, 400]
    assert Order.objects.count() == 2
    assert seen == []  # neither request loaded a session
    trader.call("GET", "/api/v1/orders")  # other signed requests go the long way
    assert seen == ["/api/v1/orders"]


def test_the_short_way_refuses_as_the_long_way(market, make_user, signed, monkeypatch):
    seen = _session_calls(monkeypatch)
    trader = signed(make_user("alice", USD="10000"))
    bad_signature = trader.call("POST", "/api/v1/orders", ORDER, secret="not-the-secret")
    read_only = signed(make_user("bob", USD="10000"), scopes=("read",)).call("POST", "/api/v1/orders", ORDER)
    invalid = trader.call("POST", "/api/v1/orders", {**ORDER, "side": "sideways"})
    broken = trader.client.generic("POST", "/api/v1/orders", data=b"{not json", content_type="application/json",
                                   **trader.headers("POST", "/api/v1/orders", b"{not json"))
    poor = trader.call("POST", "/api/v1/orders", {**ORDER, "quantity": "100"})
    answers = [(r.status_code, r.json()["error"]["code"]) for r in (bad_signature, read_only, invalid, broken, poor)]
    assert answers == [(401, "invalid_signature"), (403, "missing_scope"), (400, "invalid_side"),
                       (400, "malformed_request"), (400, "insufficient_funds")], answers
    assert Order.objects.count() == 0
    assert seen == []


def test_a_session_order_still_needs_its_csrf_token(market, make_user):
    """Without ``X-API-KEY`` the request is the browser's: CSRF, second factor and the rest apply."""
    alice = make_user("alice", USD="10000")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = browser.post("/api/v1/orders", data=json.dumps(ORDER), content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] in ("permission_denied", "csrf_failed"), response.json()
    assert Order.objects.count() == 0
