"""The order toolkit of issue 18 through the signed REST API: amend (PATCH), orders by client
order id, the server clock, since/until/limit on the history lists, the fee's asset on fills,
choices in any case, and every order type the engine takes. Bad input is a 4xx in the error
shape and changes nothing."""
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from drf_spectacular.generators import SchemaGenerator

from exchange.ledger.models import Balance, LedgerEntry
from exchange.trading.api_examples import ORDER_BODIES
from exchange.trading.models import Command, Fill, Order
from exchange.trading.services import order_place

pytestmark = pytest.mark.django_db
D = Decimal


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def state() -> tuple:
    return (sorted(Order.objects.values_list("id", "status", "price", "quantity", "hold_remaining", "cancel_requested_at")),
            Command.objects.count(), LedgerEntry.objects.count(),
            sorted(Balance.objects.values_list("account_id", "asset_id", "available", "held")))


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


@pytest.fixture
def trader(market, make_user, signed):
    user = make_user("trader", USD="1000", BTC="1")
    return user, signed(user)


@pytest.fixture
def bid(trader):
    user, _ = trader
    return order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1", client_order_id="bid-1")


# ---------------------------------------------------------------- amend


def test_amend_answers_202_with_the_order_and_whether_priority_is_kept(trader, bid):
    _, api = trader
    response = api.call("PATCH", f"/api/v1/orders/{bid.pk}", {"quantity": "0.5"})
    assert response.status_code == 202
    body = response.json()
    assert (body["id"], body["priority_kept"], body["status"]) == (bid.pk, True, "pending")
    assert set(body) - {"priority_kept"} == set(api.call("GET", f"/api/v1/orders/{bid.pk}").json())
    assert api.call("PATCH", f"/api/v1/orders/{bid.pk}", {"price": "99"}).json()["priority_kept"] is False
    assert Command.objects.filter(order=bid, kind="amend").count() == 2


def test_amend_that_needs_more_than_is_available_changes_nothing(trader, bid):
    _, api = trader
    before = state()
    assert_error(api.call("PATCH", f"/api/v1/orders/{bid.pk}", {"quantity": "20"}), 400, "insufficient_funds")
    assert state() == before


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"price": "100.001"}, 400, "tick_size"),
    ({"quantity": "0.00001"}, 400, "lot_size"),
    ({}, 400, "invalid_amend"),
    ({"price": None, "quantity": None}, 400, "invalid_amend"),
    ({"price": "abc"}, 400, "invalid_price"),
    ({"quantity": "NaN"}, 400, "invalid_quantity"),
    ({"quantity": 1.5}, 400, "invalid_quantity"),
    ({"price": "-5"}, 400, "invalid_price"),
    ({"price": "1000"}, 400, "price_band"),
    ({"quantity": "0.05"}, 400, "min_notional"),
])
def test_bad_amends_are_refused_and_change_nothing(trader, bid, body, status, code):
    from exchange.markets.models import Market

    Market.objects.filter(symbol="BTC-USD").update(last_price=D(100))
    _, api = trader
    before = state()
    assert_error(api.call("PATCH", f"/api/v1/orders/{bid.pk}", body), status, code)
    assert state() == before


def test_amend_of_a_finished_or_someone_elses_order_is_refused(trader, bid, make_user, signed):
    _, api = trader
    other = signed(make_user("other", USD="1000"))
    before = state()
    assert_error(other.call("PATCH", f"/api/v1/orders/{bid.pk}", {"quantity": "0.5"}), 404, "unknown_order")
    for unknown in ("999999999", "99999999999999999999999", "abc"):
        assert_error(api.call("PATCH", f"/api/v1/orders/{unknown}", {"quantity": "0.5"}), 404, "unknown_order")
    assert state() == before
    for finished in ("filled", "cancelled"):
        Order.objects.filter(pk=bid.pk).update(status=finished)
        before = state()
        assert_error(api.call("PATCH", f"/api/v1/orders/{bid.pk}", {"quantity": "0.5"}), 409, "order_not_open")
        assert state() == before


def test_amend_of_an_order_being_cancelled_is_refused(trader, bid):
    _, api = trader
    assert api.call("DELETE", f"/api/v1/orders/{bid.pk}").status_code == 202
    before = state()
    assert_error(api.call("PATCH", f"/api/v1/orders/{bid.pk}", {"price": "99"}), 409, "order_not_open")
    assert state() == before


@pytest.mark.django_db(transaction=True)
def test_after_the_matcher_applies_an_amend_get_shows_the_new_terms(trader, start_matcher, wait, ledger_clean):
    _user, api = trader
    start_matcher("BTC-USD")
    placed = api.call("POST", "/api/v1/orders", {"market": "BTC-USD", "side": "buy", "price": "100", "quantity": "1"})
    order_id = placed.json()["id"]
    wait(lambda: api.call("GET", f"/api/v1/orders/{order_id}").json()["status"] == "open", message="the order to rest")
    assert api.call("PATCH", f"/api/v1/orders/{order_id}", {"price": "99.5", "quantity": "2"}).status_code == 202
    wait(lambda: not Command.objects.filter(applied_sequence__isnull=True).exists(), message="the amend")
    body = api.call("GET", f"/api/v1/orders/{order_id}").json()
    assert (body["price"], body["quantity"], body["status"]) == ("99.5", "2", "open")
    balances = {b["asset"]: b for b in api.call("GET", "/api/v1/balances").json()}
    assert (balances["USD"]["available"], balances["USD"]["held"]) == ("801", "199")
    ledger_clean()


# ---------------------------------------------------------------- by client order id


def test_an_order_by_client_id_reads_and_cancels_like_by_id(trader, bid):
    _, api = trader
    by_client = api.call("GET", "/api/v1/orders/by-client-id/bid-1")
    assert by_client.status_code == 200
    assert by_client.json() == api.call("GET", f"/api/v1/orders/{bid.pk}").json()
    cancelled = api.call("DELETE", "/api/v1/orders/by-client-id/bid-1")
    assert cancelled.status_code == 202
    assert (cancelled.json()["id"], cancelled.json()["cancel_requested"]) == (bid.pk, True)
    assert Command.objects.filter(order=bid, kind="cancel").count() == 1


def test_an_unknown_or_someone_elses_client_id_is_404(trader, bid, make_user, signed):
    _, api = trader
    other = signed(make_user("other", USD="1000"))
    before = state()
    for client, path in ((api, "/api/v1/orders/by-client-id/nope"), (other, "/api/v1/orders/by-client-id/bid-1")):
        assert_error(client.call("GET", path), 404, "order_not_found")
        assert_error(client.call("DELETE", path), 404, "order_not_found")
    assert state() == before


def test_a_client_id_reused_after_its_order_closed_finds_the_open_one(trader, bid):
    user, api = trader
    Order.objects.filter(pk=bid.pk).update(status="cancelled")
    again = order_place(user=user, market="BTC-USD", side="buy", price="90", quantity="1", client_order_id="bid-1")
    assert api.call("GET", "/api/v1/orders/by-client-id/bid-1").json()["id"] == again.pk


# ---------------------------------------------------------------- server time


def test_server_time_is_public_and_now(client):
    before = ms(datetime.now(UTC))
    response = client.get("/api/v1/time")
    after = ms(datetime.now(UTC))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"server_time", "iso"}
    assert isinstance(body["server_time"], int)
    assert before <= body["server_time"] <= after
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["iso"])
    assert ms(datetime.fromisoformat(body["iso"])) == body["server_time"]


# ---------------------------------------------------------------- since / until / limit


@pytest.fixture
def history(trader, make_user):
    """Three orders and three fills of the trader, an hour apart: 3 h, 2 h and 1 h ago."""
    user, _ = trader
    other = make_user("other", USD="1000")
    now = datetime.now(UTC)
    times = [now - timedelta(hours=h) for h in (3, 2, 1)]
    orders = []
    for i, moment in enumerate(times):
        order = order_place(user=user, market="BTC-USD", side="buy", price=str(100 + i), quantity="0.2")
        Order.objects.filter(pk=order.pk).update(created_at=moment)
        Fill.objects.create(market=order.market, sequence=i + 1, price=D(100 + i), quantity=D("0.1"), buy_order=order,
                            sell_order=order, buyer=user, seller=other, aggressor="sell", buyer_fee=D("0.0001"),
                            seller_fee=D("0.02"), created_at=moment)
        orders.append(order)
    LedgerEntry.objects.update(created_at=now - timedelta(days=1))
    for order, moment in zip(orders, times, strict=True):  # each hold (two postings) when its order was placed
        LedgerEntry.objects.filter(reference=order.hold_reference).update(created_at=moment)
    return times, orders


LISTS = ["/api/v1/orders", "/api/v1/fills", "/api/v1/markets/BTC-USD/trades", "/api/v1/ledger"]


def rows(response) -> list:
    body = response.json()
    return body["results"] if isinstance(body, dict) else body


@pytest.mark.parametrize("path", LISTS)
def test_lists_take_since_until_and_limit(trader, history, path):
    _, api = trader
    times, _ = history
    window = f"since={ms(times[1]) - 1}&until={(times[2] - timedelta(seconds=1)).isoformat().replace('+00:00', 'Z')}"
    response = api.call("GET", f"{path}?{window}")
    assert response.status_code == 200, response.content
    middle = rows(response)  # the middle order, fill, trade or hold (two postings) only
    assert len(middle) == (2 if path == "/api/v1/ledger" else 1)
    first_two = rows(api.call("GET", f"{path}?since={ms(times[0]) - 1}&limit=2"))
    assert len(first_two) == 2
    if path == "/api/v1/ledger":  # from since, oldest first
        assert {r["reference"] for r in first_two} == {history[1][0].hold_reference}
    else:
        assert [r["price"] for r in first_two] == ["100", "101"]
    newest = rows(api.call("GET", f"{path}?limit=1"))  # without since, newest first
    assert newest[0]["price" if path != "/api/v1/ledger" else "kind"] == ("102" if path != "/api/v1/ledger" else "hold")


@pytest.mark.parametrize("path", [*LISTS, "/api/v1/markets/BTC-USD/candles?interval=1m"])
@pytest.mark.parametrize(("query", "code"), [
    ("since=9999999999999", "invalid_since"),
    ("since=2999-01-01T00:00:00Z", "invalid_since"),
    ("since=yesterday", "invalid_since"),
    ("since=1.5", "invalid_since"),
    ("until=2026-13-45", "invalid_until"),
    ("since=1700000000000&until=1600000000000", "invalid_until"),
])
def test_bad_time_bounds_are_400(trader, path, query, code):
    _, api = trader
    joined = f"{path}{'&' if '?' in path else '?'}{query}"
    assert_error(api.call("GET", joined), 400, code)


def test_candles_take_since_and_until(trader, history):
    from exchange.marketdata.services import candle_columns, candles_upsert

    _, api = trader
    times, orders = history
    candles_upsert(market_id=orders[0].market_id, columns=candle_columns(
        [(i + 1, D(100 + i), D("0.1"), moment) for i, moment in enumerate(times)]))
    since = ms(times[0].replace(minute=0, second=0, microsecond=0))
    first_two = api.call("GET", f"/api/v1/markets/BTC-USD/candles?interval=1h&since={since}&limit=2")
    assert [c["close"] for c in first_two.json()] == ["100", "101"]
    until = times[1].replace(minute=0, second=0, microsecond=0).isoformat()
    bounded = api.call("GET", f"/api/v1/markets/BTC-USD/candles?interval=1h&since={since}&until={until}")
    assert [c["close"] for c in bounded.json()] == ["100", "101"]


def test_malformed_candle_interval_is_400(trader):
    _, api = trader
    assert_error(api.call("GET", "/api/v1/markets/BTC-USD/candles?interval=7m"), 400, "invalid_interval")


# ---------------------------------------------------------------- fills


def test_fills_say_the_fee_its_asset_and_the_liquidity(trader, history, make_user, signed):
    _, api = trader
    fill = rows(api.call("GET", "/api/v1/fills?limit=1"))[0]
    assert (fill["side"], fill["fee"], fill["fee_asset"], fill["liquidity"]) == ("buy", "0.0001", "BTC", "maker")
    seller = signed(Fill.objects.first().seller)
    theirs = rows(seller.call("GET", "/api/v1/fills?limit=1"))[0]
    assert (theirs["side"], theirs["fee"], theirs["fee_asset"], theirs["liquidity"]) == ("sell", "0.02", "USD", "taker")


# ---------------------------------------------------------------- order entry


def test_choices_are_accepted_in_any_case(trader):
    _, api = trader
    response = api.call("POST", "/api/v1/orders", {"market": "BTC-USD", "side": "BUY", "type": "Limit", "price": "100",
                                                   "quantity": "0.1", "time_in_force": "GTC", "stp": "Cancel_Oldest"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["side"], body["type"], body["time_in_force"]) == ("buy", "limit", "gtc")
    assert Order.objects.get(pk=body["id"]).stp == "cancel_oldest"
    assert_error(api.call("POST", "/api/v1/orders", {"market": "BTC-USD", "side": "HOLD", "price": "100",
                                                      "quantity": "0.1"}), 400, "invalid_side")
    assert_error(api.call("POST", "/api/v1/orders", {"market": "BTC-USD", "side": " buy", "price": "100",
                                                      "quantity": "0.1"}), 400, "invalid_side")  # case, not spaces


@pytest.mark.parametrize(("field", "value"), [("client_order_id", 0), ("post_only", 0), ("post_only", "yes")])
def test_fields_take_only_the_json_types_the_schema_names(trader, field, value):
    _, api = trader
    before = state()
    assert_error(api.call("POST", "/api/v1/orders", {"market": "BTC-USD", "side": "buy", "price": "100",
                                                      "quantity": "0.1", field: value}), 400, f"invalid_{field}")
    assert state() == before


@pytest.mark.parametrize("name", list(ORDER_BODIES))
def test_every_documented_order_example_is_placed(trader, name):
    from exchange.markets.models import Market

    Market.objects.filter(symbol="BTC-USD").update(last_price=D(30000), price_band_pct=None, min_notional=D(1))
    user, api = trader
    from exchange.ledger.services import deposit_credit
    from exchange.markets.models import Asset

    deposit_credit(user=user, asset=Asset.objects.get(symbol="USD"), amount="100000", reference="examples")
    response = api.call("POST", "/api/v1/orders", ORDER_BODIES[name])
    assert response.status_code == 201, response.content
    body = response.json()
    sent = ORDER_BODIES[name]
    assert (body["side"], body["type"]) == (sent["side"], sent["type"])
    if "time_in_force" in sent and sent["type"] == "limit":
        assert body["time_in_force"] == sent["time_in_force"].lower()


def test_the_schema_documents_the_new_endpoints_and_every_order_type():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert "patch" in paths["/api/v1/orders/{order_id}"]
    assert {"get", "delete"} <= set(paths["/api/v1/orders/by-client-id/{client_order_id}"])
    assert "get" in paths["/api/v1/time"]
    examples = paths["/api/v1/orders"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    bodies = [e["value"] for e in examples.values()]
    assert {b["type"] for b in bodies} == {"limit", "market", "stop_market", "stop_limit"}
    assert any("quote_amount" in b for b in bodies)
    assert any(b.get("post_only") for b in bodies)
    assert {b.get("time_in_force", "gtc").lower() for b in bodies} == {"gtc", "ioc", "fok"}
    assert any("stp" in b for b in bodies)
    for path in ("/api/v1/orders", "/api/v1/fills", "/api/v1/ledger", "/api/v1/markets/{symbol}/trades",
                 "/api/v1/markets/{symbol}/candles"):
        names = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert {"since", "until", "limit"} <= names, path
