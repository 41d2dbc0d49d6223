"""Bad input gets a clear 4xx, never a 500 or a hang: each defect found by hand (issue 20 item 8,
issue 15), through a real Daphne with DEBUG off (where Django renders its 500 page)."""
import json
import time
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


@pytest.mark.parametrize("path", [
    "/api/v1/markets/%00/depth", "/api/v1/markets/BTC%00-USD/trades", "/api/v1/markets/%00/ticker",
    "/api/v1/markets/BTC-USD/trades?before=" + "9" * 30,
])
def test_nul_bytes_and_huge_numbers_in_api_paths_and_queries(web, trader, path):
    response = requests.get(web.url + path, headers=signed_headers(trader.key, trader.secret, "GET", path), timeout=10)
    assert 400 <= response.status_code < 500, response.text[:300]
    api_error(response)


@pytest.mark.parametrize("path", ["/trade/%00/", "/trade/BTC%00-USD/", "/wallet/?asset=%00", "/wallet/?asset=NOPE"])
def test_bad_input_in_pages_is_a_4xx_page(web, trader, path):
    response = browser(web, trader.user).get(web.url + path, timeout=10)
    assert 400 <= response.status_code < 500, response.status_code
    assert "<html" in response.text.lower()


@pytest.mark.parametrize("asset", ["%00", "NOPE", "B%00TC"])
def test_ledger_csv_with_a_bad_asset_answers_at_once(web, trader, asset):
    session = browser(web, trader.user)
    started = time.monotonic()
    response = session.get(web.url + "/wallet/ledger.csv?asset=" + asset, timeout=10)
    assert time.monotonic() - started < 5
    assert response.status_code == 400


def test_deeply_nested_json(web, trader):
    response = post_order(web, trader, b"[" * 100_000)
    assert response.status_code == 400
    assert api_error(response) == "malformed_request"


def test_a_nul_character_in_a_json_string_is_malformed(web, trader):
    response = post_order(web, trader, b'{"market": "BTC\\u0000-USD", "side": "buy"}')
    assert response.status_code == 400
    assert api_error(response) == "malformed_request"


@pytest.mark.parametrize("field", ["price", "quantity"])
@pytest.mark.parametrize("value", ["1e999999999", "-1e999999999"])
def test_absurd_numbers_in_an_order(web, trader, field, value):
    response = post_order(web, trader, json.dumps({**ORDER, field: value}).encode())
    assert response.status_code == 400, response.text[:300]
    api_error(response)


@pytest.mark.parametrize(("header", "value"), [
    ("X-API-TIMESTAMP", "1" * 5000),
    ("X-API-SIGNATURE", "é" * 64),
    ("X-API-SIGNATURE", "\u00ff" * 3),
])
def test_absurd_api_key_headers(web, trader, header, value):
    headers = signed_headers(trader.key, trader.secret, "GET", "/api/v1/balances")
    headers[header] = value
    response = requests.get(web.url + "/api/v1/balances", headers=headers, timeout=10)
    assert response.status_code == 401, response.text[:300]
    api_error(response)


def test_oversized_body_is_a_json_413(web, trader):
    response = post_order(web, trader, b'{"market": "' + b"A" * 5_000_000 + b'"}')
    assert response.status_code == 413
    assert api_error(response) == "request_too_large"


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_api_path_is_a_json_404(web, method):
    response = requests.request(method, web.url + "/api/v1/x", timeout=10)
    assert response.status_code == 404
    assert api_error(response) == "not_found"
