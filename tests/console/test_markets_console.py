"""Markets from the console: list assets and markets, edit rules, change status, cancel all.
Each action: its effect and its audit entry (the 403s are in test_permissions)."""
from decimal import Decimal

import pytest

from exchange.markets.models import Asset, Market
from exchange.trading.models import Command
from exchange.trading.services import order_place

D = Decimal


def test_list_an_asset(admin_client, last_audit, db):
    response = admin_client.post("/console/assets/new", {"symbol": "sol", "name": "Solana", "decimals": "9",
                                                         "reason": "listing committee 2026-11"})
    assert response.status_code == 302
    assert Asset.objects.get(symbol="SOL").decimals == 9
    entry = last_audit("asset.list")
    assert (entry.actor_username, entry.ip, entry.object_id) == ("alice_admin", "203.0.113.7", "SOL")
    assert entry.after == {"symbol": "SOL", "name": "Solana", "decimals": 9}
    assert entry.reason == "listing committee 2026-11"


def test_every_action_needs_a_reason(admin_client, assets, last_audit):
    admin_client.post("/console/assets/new", {"symbol": "SOL", "decimals": "9", "reason": "  "})
    assert not Asset.objects.filter(symbol="SOL").exists()
    assert last_audit() is None


def test_list_a_market_with_its_rules(admin_client, assets, last_audit):
    response = admin_client.post("/console/markets/new", {
        "base": "ETH", "quote": "USD", "tick_size": "0.01", "lot_size": "0.001", "min_notional": "5",
        "min_quantity": "0.001", "max_quantity": "500", "price_band_pct": "15", "maker_fee": "0.0008",
        "taker_fee": "0.0015", "reason": "new pair"}, follow=True)
    assert response.status_code == 200
    market = Market.objects.get(symbol="ETH-USD")
    assert (market.tick_size, market.lot_size, market.min_notional, market.max_quantity) == (
        D("0.01"), D("0.001"), D("5"), D("500"))
    assert (market.price_band_pct, market.maker_fee, market.taker_fee, market.status) == (
        D("15"), D("0.0008"), D("0.0015"), "trading")
    entry = last_audit("market.list")
    assert entry.object_id == "ETH-USD"
    assert entry.after["tick_size"] == "0.01"
    assert entry.reason == "new pair"


def test_a_market_whose_tick_does_not_fit_the_quote_is_refused(admin_client, assets, last_audit):
    response = admin_client.post("/console/markets/new", {"base": "ETH", "quote": "USD", "tick_size": "0.000000001",
                                                          "lot_size": "1", "reason": "typo"}, follow=True)
    assert not Market.objects.filter(symbol="ETH-USD").exists()
    assert any("tick_size" in str(m) for m in response.context["messages"])
    assert last_audit() is None


def test_edit_rules_records_before_and_after(admin_client, market, last_audit):
    response = admin_client.post("/console/markets/BTC-USD/rules", {
        "min_notional": "25", "max_quantity": "", "maker_fee": "0.0005", "taker_fee": "0.002", "reason": "review Q4"})
    assert response.status_code == 302
    market.refresh_from_db()
    assert (market.min_notional, market.max_quantity, market.maker_fee) == (D("25"), None, D("0.0005"))
    entry = last_audit("market.rules_update")
    assert entry.before == {"min_notional": "10.000000000000000000", "max_quantity": "100.000000000000000000",
                            "maker_fee": "0.00100000"}
    assert entry.after == {"min_notional": "25", "max_quantity": None, "maker_fee": "0.0005"}


def test_new_rules_apply_to_new_orders_and_resting_ones_keep_theirs(admin_client, market, make_user):
    user = make_user(USD="10000")
    resting = order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="0.2")  # notional 20
    admin_client.post("/console/markets/BTC-USD/rules", {"min_notional": "50", "maker_fee": "0.0001", "reason": "x"})
    from exchange.errors import ExchangeError

    with pytest.raises(ExchangeError) as info:
        order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="0.2")
    assert info.value.code == "min_notional"
    new = order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1")
    fees = {c.order_id: c.payload["maker_fee"] for c in Command.objects.filter(kind="place")}
    assert fees == {resting.pk: "0.00100000", new.pk: "0.00010000"}
    resting.refresh_from_db()
    assert resting.status == "pending"  # untouched


def test_tick_and_lot_are_fixed_once_the_market_has_orders(admin_client, market, make_user, last_audit):
    admin_client.post("/console/markets/BTC-USD/rules", {"tick_size": "0.1", "reason": "before any order"})
    market.refresh_from_db()
    assert market.tick_size == D("0.1")
    order_place(user=make_user(USD="1000"), market="BTC-USD", side="buy", price="100", quantity="0.2")
    response = admin_client.post("/console/markets/BTC-USD/rules", {"tick_size": "1", "reason": "after"}, follow=True)
    market.refresh_from_db()
    assert market.tick_size == D("0.1")
    assert any("rules_fixed" in str(m) for m in response.context["messages"])
    assert last_audit("market.rules_update").reason == "before any order"


@pytest.mark.parametrize("status", ["halted", "cancel_only", "post_only", "trading"])
def test_status_change_goes_through_the_stream(admin_client, market, last_audit, private_redis, status,
                                               django_capture_on_commit_callbacks):
    import redis as redis_lib

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/console/markets/BTC-USD/status", {"status": status, "reason": "drill"})
    assert response.status_code == 302
    command = Command.objects.get()
    assert (command.kind, command.payload) == ("set_status", {"status": status, "reason": "drill"})
    assert command.applied_sequence is None  # the matcher applies it in sequence, not the console
    entries = redis_lib.Redis.from_url(private_redis).xrange("cmd:BTC-USD")
    assert [int(fields[b"c"]) for _, fields in entries] == [command.pk]
    entry = last_audit("market.status_change")
    assert entry.before == {"status": "trading"}
    assert entry.after == {"status": status, "commands": [command.pk]}


def test_delisting_also_cancels_every_order(admin_client, market, last_audit):
    admin_client.post("/console/markets/BTC-USD/status", {"status": "delisted", "reason": "issuer gone"})
    assert list(Command.objects.order_by("id").values_list("kind", flat=True)) == ["set_status", "cancel_all"]
    assert len(last_audit("market.status_change").after["commands"]) == 2


def test_cancel_all_goes_through_the_stream(admin_client, market, make_user, last_audit):
    order_place(user=make_user(USD="1000"), market="BTC-USD", side="buy", price="100", quantity="0.2")
    admin_client.post("/console/markets/BTC-USD/cancel-all", {"reason": "bad prints"})
    command = Command.objects.get(kind="cancel_all")
    assert command.payload == {"reason": "bad prints"}
    entry = last_audit("market.cancel_all")
    assert (entry.before, entry.after) == ({"open_orders": 1}, {"command": command.pk})


def test_market_pages_render(admin_client, market):
    assert b"BTC-USD" in admin_client.get("/console/markets/").content
    page = admin_client.get("/console/markets/BTC-USD/")
    assert page.status_code == 200
    assert b"Change status" in page.content
    assert admin_client.get("/console/markets/NOPE-USD/").status_code == 404
