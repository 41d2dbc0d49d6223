"""The driver's order methods against a live venue: every order type and option a bot sends
through ccxt reaches the matcher as the venue's own order, and comes back as ccxt's order
structure; balances follow the holds."""
import pytest

from tests.ccxt.conftest import D, wait_status
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_limit_order_life_by_id_and_by_client_order_id(make_user, venue_for, ledger_clean):
    venue = venue_for(make_user("alice", USD="20000"))
    assert D(venue.fetch_balance()["USD"]["free"]) == D("20000")

    # A client order id with a space, a slash and a hash: escaped in the path as the server signs it.
    order = venue.create_order("BTC/USD", "limit", "buy", 0.1, 25000.0, {"clientOrderId": "bot 1/#a", "postOnly": True})
    assert (order["symbol"], order["type"], order["side"], order["clientOrderId"], order["postOnly"]) == (
        "BTC/USD", "limit", "buy", "bot 1/#a", True)
    assert (D(order["price"]), D(order["amount"]), order["status"]) == (D("25000"), D("0.1"), "open")
    assert order["timeInForce"] == "PO"
    wait_status(venue, order["id"], "open")

    by_client_id = venue.fetch_order(None, "BTC/USD", {"clientOrderId": "bot 1/#a"})
    assert by_client_id["id"] == order["id"]
    balance = venue.fetch_balance()
    # 2500 USD held by the order (plus its fee reserve, if the venue holds one).
    assert D(balance["USD"]["used"]) >= D("2500")
    assert D(balance["USD"]["free"]) + D(balance["USD"]["used"]) == D(balance["USD"]["total"]) == D("20000")

    second = venue.create_order("BTC/USD", "limit", "buy", 0.2, 24000.0, {"clientOrderId": "bot-2"})
    third = venue.create_order("BTC/USD", "limit", "buy", 0.3, 23000.0)
    wait_status(venue, third["id"], "open")
    open_orders = venue.fetch_open_orders("BTC/USD")
    assert [o["id"] for o in open_orders] == [order["id"], second["id"], third["id"]]  # oldest first, as ccxt sorts
    assert [o["id"] for o in venue.fetch_open_orders(limit=2)] == [second["id"], third["id"]]  # the newest two
    venue.options["pageSize"] = 2  # three orders over two pages: the driver follows the cursor
    assert [o["id"] for o in venue.fetch_open_orders()] == [order["id"], second["id"], third["id"]]
    assert [o["id"] for o in venue.fetch_open_orders(since=order["timestamp"], limit=2)] == [order["id"], second["id"]]
    assert venue.fetch_open_orders(since=third["timestamp"] + 1) == []  # none placed since

    # Amend: a smaller quantity keeps priority; the matcher applies it, then GET shows it.
    edited = venue.edit_order(order["id"], "BTC/USD", "limit", "buy", 0.05, None)
    assert edited["id"] == order["id"]
    assert edited["info"]["priority_kept"] is True
    wait_until(lambda: D(venue.fetch_order(order["id"])["amount"]) == D("0.05"), timeout=30, message="the amend")
    repriced = venue.edit_order(order["id"], "BTC/USD", "limit", "buy", 0.04, 25100.0)
    assert repriced["info"]["priority_kept"] is False
    wait_until(lambda: D(venue.fetch_order(order["id"])["price"]) == D("25100"), timeout=30, message="the reprice")
    amended = venue.fetch_order(order["id"])
    assert (D(amended["price"]), D(amended["amount"]), amended["status"]) == (D("25100"), D("0.04"), "open")

    # Cancel by client order id, by id, then all that is left.
    cancelled = venue.cancel_order(None, "BTC/USD", {"clientOrderId": "bot 1/#a"})
    assert cancelled["id"] == order["id"]
    assert wait_status(venue, order["id"], "cancelled")["status"] == "canceled"
    venue.cancel_order(second["id"], "BTC/USD")
    assert wait_status(venue, second["id"], "cancelled")["status"] == "canceled"
    remaining = venue.cancel_all_orders("BTC/USD")
    assert [o["id"] for o in remaining] == [third["id"]]
    wait_status(venue, third["id"], "cancelled")
    assert venue.fetch_open_orders() == []
    closed = venue.fetch_closed_orders("BTC/USD")
    assert sorted(o["id"] for o in closed) == sorted([order["id"], second["id"], third["id"]])
    assert {o["status"] for o in closed} == {"canceled"}
    assert D(venue.fetch_balance()["USD"]["used"]) == 0
    ledger_clean()


def test_market_orders_by_amount_and_by_cost(make_user, venue_for, ledger_clean):
    maker = venue_for(make_user("maker", BTC="1", USD="10000"))
    taker = venue_for(make_user("taker", BTC="1", USD="10000"))
    ask = maker.create_order("BTC/USD", "limit", "sell", 0.5, 20000.0)
    bid = maker.create_order("BTC/USD", "limit", "buy", 0.5, 19000.0)
    wait_status(maker, ask["id"], "open")
    wait_status(maker, bid["id"], "open")

    # "Spend 500 USD": a market buy sized by quote amount.
    spend = taker.create_market_buy_order_with_cost("BTC/USD", 500)
    assert (spend["type"], spend["side"], spend["amount"]) == ("market", "buy", None)
    assert D(spend["info"]["quote_amount"]) == D("500")
    bought = wait_status(taker, spend["id"], "filled", "cancelled")
    assert (D(bought["filled"]), D(bought["cost"])) == (D("0.025"), D("500"))  # 500 / 20000

    # A market buy by base amount (the venue caps its price at the last price + 5%).
    bought_by_amount = taker.create_order("BTC/USD", "market", "buy", 0.02)
    assert D(wait_status(taker, bought_by_amount["id"], "filled")["filled"]) == D("0.02")

    sold = taker.create_order("BTC/USD", "market", "sell", 0.01)
    assert sold["type"] == "market"
    done = wait_status(taker, sold["id"], "filled")
    assert (D(done["filled"]), D(done["average"])) == (D("0.01"), D("19000"))
    trades = taker.fetch_my_trades("BTC/USD")
    assert [(t["side"], D(t["amount"])) for t in trades] == [("buy", D("0.025")), ("buy", D("0.02")), ("sell", D("0.01"))]
    assert {t["takerOrMaker"] for t in trades} == {"taker"}
    ledger_clean()


def test_stop_orders_time_in_force_and_self_trade_prevention(make_user, venue_for, ledger_clean):
    venue = venue_for(make_user("alice", BTC="1", USD="10000"))
    other = venue_for(make_user("bob", BTC="1", USD="10000"))

    # Stops: triggerPrice makes a limit a stop-limit and a market a stop-market; they wait.
    stop_limit = venue.create_order("BTC/USD", "limit", "sell", 0.01, 17900.0, {"triggerPrice": 18000.0})
    stop_market = venue.create_order("BTC/USD", "market", "sell", 0.01, None, {"triggerPrice": 17500.0})
    assert (stop_limit["type"], D(stop_limit["triggerPrice"])) == ("limit", D("18000"))
    assert (stop_market["type"], D(stop_market["triggerPrice"])) == ("market", D("17500"))
    assert (stop_limit["info"]["type"], stop_market["info"]["type"]) == ("stop_limit", "stop_market")
    for order in (stop_limit, stop_market):
        assert wait_status(venue, order["id"], "open")["status"] == "open"

    # IOC and FOK against an empty book: nothing rests.
    ioc = venue.create_order("BTC/USD", "limit", "buy", 0.01, 19000.0, {"timeInForce": "IOC"})
    fok = venue.create_order("BTC/USD", "limit", "buy", 0.01, 19000.0, {"timeInForce": "FOK"})
    assert (ioc["timeInForce"], fok["timeInForce"]) == ("IOC", "FOK")
    assert wait_status(venue, ioc["id"], "cancelled", "rejected")["filled"] == 0
    assert wait_status(venue, fok["id"], "cancelled", "rejected")["filled"] == 0

    # FOK that cannot fill whole does not fill at all; one that can, fills.
    ask = other.create_order("BTC/USD", "limit", "sell", 0.05, 20000.0)
    wait_status(other, ask["id"], "open")
    too_big = venue.create_order("BTC/USD", "limit", "buy", 0.06, 20000.0, {"timeInForce": "FOK"})
    assert wait_status(venue, too_big["id"], "cancelled", "rejected")["filled"] == 0
    whole = venue.create_order("BTC/USD", "limit", "buy", 0.05, 20000.0, {"timeInForce": "fok"})
    assert D(wait_status(venue, whole["id"], "filled")["filled"]) == D("0.05")

    # Self-trade prevention: a buy that would meet the caller's own ask.
    own_ask = venue.create_order("BTC/USD", "limit", "sell", 0.02, 21000.0)
    wait_status(venue, own_ask["id"], "open")
    crossing = venue.create_order("BTC/USD", "limit", "buy", 0.02, 21000.0, {"stp": "cancel_oldest"})
    assert wait_status(venue, own_ask["id"], "cancelled")["filled"] == 0
    assert wait_status(venue, crossing["id"], "open")["filled"] == 0  # the newest rests instead
    assert len(venue.fetch_my_trades()) == 1  # only the FOK fill against bob
    venue.cancel_all_orders()
    ledger_clean()
