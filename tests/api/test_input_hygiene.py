"""Bad input gets a clear 4xx, never a 500 or a hang: each defect found by hand (issue 20 item 8,
issue 15), through a real Daphne with DEBUG off (where Django renders its 500 page)."""
import json
from types import SimpleNamespace

import pytest
import requests

from exchange.accounts.services import api_key_create
from tests.api.production import api_error, browser, signed_headers

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = {"market": "BTC-USD", "side": "buy", "type": "limit", "price": "100", "quantity": "1"}


@pytest.fixture
def web(production_web, market):
    return production_web


@pytest.fixture
def trader(make_user):
    user = make_user(USD="100000", BTC="10")
    api_key, secret = api_key_create(user=user, scopes=["read", "trade"])
    return SimpleNamespace(user=user, key=api_key.key, secret=secret)


def post_order(web, trader, body: bytes) -> requests.Response:
    return requests.post(web.url + "/api/v1/orders", data=body, timeout=20,
                         headers=signed_headers(trader.key, trader.secret, "POST", "/api/v1/orders", body))


def test_nul_bytes_and_huge_numbers_in_api_paths_and_queries(web, trader):
    for path in ["/api/v1/markets/%00/depth", "/api/v1/markets/BTC%00-USD/trades", "/api/v1/markets/%00/ticker",
                 "/api/v1/markets/BTC-USD/trades?before=" + "9" * 30]:
        response = requests.get(web.url + path, headers=signed_headers(trader.key, trader.secret, "GET", path),
                                timeout=10)
        assert 400 <= response.status_code < 500, (path, response.text[:300])
        api_error(response)


def test_bad_input_in_pages_is_a_4xx_page_at_once(web, trader):
    session = browser(web, trader.user)
    for path in ["/trade/%00/", "/trade/BTC%00-USD/", "/wallet/?asset=%00", "/wallet/?asset=NOPE"]:
        response = session.get(web.url + path, timeout=10)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert "<html" in response.text.lower()
    for asset in ["%00", "NOPE", "B%00TC"]:  # streamed, the CSV never ended: a hang (a read timeout here)
        response = session.get(web.url + "/wallet/ledger.csv?asset=" + asset, timeout=30)
        assert response.status_code == 400, asset


def test_deeply_nested_json_and_nul_characters_are_malformed(web, trader):
    for body in [b"[" * 100_000, b'{"market": "BTC\\u0000-USD", "side": "buy"}']:
        response = post_order(web, trader, body)
        assert response.status_code == 400, body[:50]
        assert api_error(response) == "malformed_request"


def test_absurd_numbers_in_an_order(web, trader):
    for field in ["price", "quantity"]:
        for value in ["1e999999999", "-1e999999999"]:
            response = post_order(web, trader, json.dumps({**ORDER, field: value}).encode())
            assert response.status_code == 400, (field, value, response.text[:300])
            assert api_error(response) == f"{field}_too_large"


def test_absurd_api_key_headers(web, trader):
    for header, value in [("X-API-TIMESTAMP", "1" * 5000), ("X-API-SIGNATURE", "\u00e9" * 64),
                          ("X-API-SIGNATURE", "\u00ff" * 3)]:
        headers = signed_headers(trader.key, trader.secret, "GET", "/api/v1/balances")
        headers[header] = value
        response = requests.get(web.url + "/api/v1/balances", headers=headers, timeout=10)
        assert response.status_code == 401, (header, response.text[:300])
        api_error(response)


def test_oversized_body_is_a_json_413(web, trader):
    response = post_order(web, trader, b'{"market": "' + b"A" * 5_000_000 + b'"}')
    assert response.status_code == 413
    assert api_error(response) == "request_too_large"


def test_unknown_api_path_is_a_json_404(web):
    for method in ["GET", "POST", "DELETE"]:
        response = requests.request(method, web.url + "/api/v1/x", timeout=10)
        assert response.status_code == 404, method
        assert api_error(response) == "not_found"
