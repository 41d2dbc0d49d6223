"""The console against a real matcher: halting a market while orders stream in, freezing a
user (orders cancelled, holds released, API refused), and engine health turning red when the
matcher stops and green when it is back."""
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from exchange.errors import ExchangeError
from exchange.ledger.models import Balance
from exchange.markets.models import Market
from exchange.trading.models import Command, Fill, Order
from exchange.trading.services import order_place

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def all_applied() -> bool:
    return not Command.objects.filter(applied_sequence__isnull=True).exists()


class OrderStream(threading.Thread):
    """Places crossing orders as fast as order entry allows until stopped; records refusals."""

    def __init__(self, buyer, seller) -> None:
        super().__init__(daemon=True)
        self.buyer, self.seller = buyer, seller
        self.running = True
        self.placed: list[int] = []
        self.refused: list[str] = []

    def run(self) -> None:
        try:
            while self.running:
                for user, side in ((self.seller, "sell"), (self.buyer, "buy")):
                    try:
                        self.placed.append(order_place(user=user, market="BTC-USD", side=side, price="100",
                                                       quantity="0.1").pk)
                    except ExchangeError as exc:
                        self.refused.append(exc.code)
                time.sleep(0.005)
        finally:
            connection.close()

    def stop(self) -> None:
        self.running = False
        self.join(timeout=10)


def test_halt_while_orders_stream_in_then_resume(admin_client, market, make_user, start_matcher, wait, ledger_clean,
                                                 last_audit):
    buyer = make_user(USD="1000000")
    seller = make_user(BTC="1000")
    start_matcher("BTC-USD")
    stream = OrderStream(buyer, seller)
    stream.start()
    try:
        wait(lambda: Fill.objects.count() >= 5, message="trading to start")
        admin_client.post("/console/markets/BTC-USD/status", {"status": "halted", "reason": "incident 7"})
        halt = Command.objects.get(kind="set_status")
        wait(lambda: Command.objects.get(pk=halt.pk).applied_sequence is not None, message="the halt to apply")
        wait(lambda: "market_halted" in stream.refused, message="order entry to refuse")
        time.sleep(0.3)  # orders keep coming while halted
    finally:
        stream.stop()
    wait(all_applied, message="every queued order")

    halt.refresh_from_db()
    assert Market.objects.get(pk=market.pk).status == "halted"
    assert Fill.objects.filter(sequence__lt=halt.applied_sequence).exists()
    assert not Fill.objects.filter(sequence__gt=halt.applied_sequence).exists()
    # Orders queued behind the halt in the stream were rejected by the matcher with the same code.
    behind = Order.objects.filter(commands__kind="place", commands__applied_sequence__gt=halt.applied_sequence)
    assert set(behind.values_list("status", "cancel_reason")) <= {("rejected", "market_halted")}
    assert stream.refused
    assert set(stream.refused) == {"market_halted"}
    assert last_audit("market.status_change").after["status"] == "halted"

    admin_client.post("/console/markets/BTC-USD/status", {"status": "trading", "reason": "incident 7 resolved"})
    wait(lambda: Market.objects.get(pk=market.pk).status == "trading", message="resume")
    fills_before = Fill.objects.count()
    # Orders resting at the halt stay in the book through it (a halt stops matching, it does not cancel).
    order_place(user=seller, market="BTC-USD", side="sell", price="100", quantity="0.1")
    buy = order_place(user=buyer, market="BTC-USD", side="buy", price="100", quantity="0.1")
    wait(lambda: Order.objects.get(pk=buy.pk).status == "filled", message="a trade after resume")
    assert Fill.objects.count() == fills_before + 1
    ledger_clean()


def test_freeze_cancels_open_orders_releases_holds_and_refuses_the_api(admin_client, market, make_user, start_matcher,
                                                                       wait, ledger_clean, client):
    from exchange.accounts.services import api_key_create
    from exchange.api.signing import signature

    frozen = make_user(USD="10000", BTC="5")
    other = make_user(USD="10000")
    key, secret = api_key_create(user=frozen, scopes=["read", "trade"])

    def api_get(path: str):
        timestamp = str(int(time.time() * 1000))
        return client.get(path, HTTP_X_API_KEY=key.key, HTTP_X_API_TIMESTAMP=timestamp,
                          HTTP_X_API_SIGNATURE=signature(secret, timestamp, "GET", path, b""))

    assert api_get("/api/v1/balances").status_code == 200
    start_matcher("BTC-USD")
    orders = [order_place(user=frozen, market="BTC-USD", side="buy", price="90", quantity="1"),
              order_place(user=frozen, market="BTC-USD", side="sell", price="120", quantity="2")]
    mine = order_place(user=other, market="BTC-USD", side="buy", price="91", quantity="1")
    wait(lambda: all(Order.objects.get(pk=o.pk).status == "open" for o in orders), message="the orders to rest")

    admin_client.post(f"/console/users/{frozen.pk}/freeze", {"reason": "compliance hold"})
    wait(lambda: all(Order.objects.get(pk=o.pk).status == "cancelled" for o in orders), message="the cancels")
    assert {Order.objects.get(pk=o.pk).cancel_reason for o in orders} == {"user_frozen"}
    assert Order.objects.get(pk=mine.pk).status == "open"
    assert all(b.held == 0 for b in Balance.objects.filter(account__user=frozen))
    assert Balance.objects.get(account__user=frozen, asset__symbol="USD").available == D("10000")
    ledger_clean()
    response = api_get("/api/v1/balances")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "account_frozen"


def test_health_turns_red_when_the_matcher_stops_and_green_when_it_is_back(admin_client, market, start_matcher, wait,
                                                                          make_user):
    user = make_user(USD="1000")

    def level() -> dict:
        return admin_client.get("/console/health.json").json()["markets"][0]

    def beat() -> None:
        # Any batch refreshes the heartbeat (an idle matcher beats every 5 s): don't wait for that.
        wait(lambda: level()["owned"], timeout=30, message="a matcher to own the market")
        order_place(user=user, market="BTC-USD", side="buy", price="10", quantity="1")

    assert level()["level"] == "red"  # no matcher yet
    matcher = start_matcher("BTC-USD")
    beat()
    wait(lambda: level()["level"] == "ok", timeout=30, message="green with a matcher")
    row = level()
    assert row["owned"]
    assert row["owner"].endswith(f":{matcher.process.pid}")
    assert row["heartbeat_age"] is not None
    assert row["heartbeat_age"] < 15

    matcher.stop()
    wait(lambda: level()["level"] == "red", timeout=10, message="red without the matcher")
    row = level()
    assert row["problems"] == ["no matcher holds this market"]
    dashboard = admin_client.get("/console/")
    assert b"level-red" in dashboard.content
    assert "BTC-USD: no matcher holds this market" in dashboard.context["health"]["alerts"]

    start_matcher("BTC-USD")
    beat()
    wait(lambda: level()["level"] == "ok", timeout=30, message="green again after the restart")


def test_lagging_matcher_is_red(admin_client, market, make_user, settings):
    """Commands that wait longer than the lag limit make the market red even with an owner."""
    settings.EXCHANGE_MATCHER_LAG_MAX_SECONDS = 0.5
    user = make_user(USD="1000")
    order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="0.5")
    time.sleep(0.7)
    row = admin_client.get("/console/health.json").json()["markets"][0]
    assert row["unapplied_commands"] == 1
    assert any(p.startswith("lagging") for p in row["problems"])
