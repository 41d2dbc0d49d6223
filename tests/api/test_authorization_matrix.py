"""Who may do what through the REST API and the pages: anonymous, a trader, another trader,
an admin and a compliance officer. Nobody reads or cancels anyone else's orders, fills,
balances or ledger (IDOR), whatever the id they try."""
from decimal import Decimal

import pytest
from django.test import Client

from exchange.accounts.roles import ADMIN, COMPLIANCE
from exchange.accounts.services import user_create
from exchange.ledger.services import deposit_credit
from exchange.trading.models import Fill, Order
from exchange.trading.services import order_place

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-42"


@pytest.fixture
def people(market, assets, redis_url):
    def person(name, role="trader"):
        user = user_create(username=name, email=f"{name}@example.com", password=PASSWORD, role=role)
        deposit_credit(user=user, asset=assets["USD"], amount="1000", reference=f"m:{name}")
        client = Client()
        client.force_login(user)
        if role != "trader":  # staff pass two-factor (a confirmed device, marked in the session)
            from django_otp import DEVICE_ID_SESSION_KEY
            from django_otp.plugins.otp_totp.models import TOTPDevice

            session = client.session
            session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=user, name="a", confirmed=True).persistent_id
            session.save()
        return user, client

    people = {name: person(name, role) for name, role in
              [("trader", "trader"), ("other", "trader"), ("admin", ADMIN), ("compliance", COMPLIANCE)]}
    people["anonymous"] = (None, Client())
    return people


@pytest.fixture
def traders_order(people):
    trader = people["trader"][0]
    order = order_place(user=trader, market="BTC-USD", side="buy", price="100", quantity="1")
    seller = people["other"][0]
    # A fill between trader and other, written as the matcher would, to check fill visibility.
    Fill.objects.create(market=order.market, sequence=1, price=Decimal(100), quantity=Decimal("0.1"), buy_order=order,
                        sell_order=order, buyer=trader, seller=seller, aggressor="buy", buyer_fee=0, seller_fee=0,
                        created_at=order.created_at)
    return order


PRIVATE_READS = ["/api/v1/orders", "/api/v1/orders?status=open", "/api/v1/fills", "/api/v1/balances", "/api/v1/ledger"]


@pytest.mark.parametrize("path", PRIVATE_READS)
def test_anonymous_gets_401_on_every_private_endpoint(people, path):
    response = people["anonymous"][1].get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path"), [("post", "/api/v1/orders"), ("delete", "/api/v1/orders"),
                                              ("delete", "/api/v1/orders/1"), ("post", "/api/v1/faucet")])
def test_anonymous_cannot_write(people, method, path):
    response = getattr(people["anonymous"][1], method)(path, data={}, content_type="application/json")
    assert response.status_code == 401


@pytest.mark.parametrize("who", ["trader", "other", "admin", "compliance"])
def test_each_user_sees_only_their_own_data(people, traders_order, who):
    _, client = people[who]
    orders = client.get("/api/v1/orders").json()["results"]
    assert [o["id"] for o in orders] == ([traders_order.pk] if who == "trader" else [])
    balances = client.get("/api/v1/balances").json()
    assert balances == [{"asset": "USD", "available": "900" if who == "trader" else "1000",
                         "held": "100" if who == "trader" else "0", "total": "1000"}]
    ledger = client.get("/api/v1/ledger").json()["results"]
    assert ledger
    assert {p["reference"].split(":")[0] for p in ledger} <= {"deposit", "order"}
    fills = client.get("/api/v1/fills").json()["results"]
    expected = {"trader": ["buy"], "other": ["sell"]}.get(who, [])
    assert [f["side"] for f in fills] == expected


@pytest.mark.parametrize("who", ["other", "admin", "compliance"])
def test_nobody_else_can_read_or_cancel_an_order(people, traders_order, who):
    client = people[who][1]
    path = f"/api/v1/orders/{traders_order.pk}"
    assert client.get(path).status_code == 404
    response = client.delete(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_order"
    client.delete("/api/v1/orders")  # cancel-all is scoped to the caller
    assert Order.objects.get(pk=traders_order.pk).cancel_requested_at is None


def test_the_owner_can_read_and_cancel(people, traders_order):
    client = people["trader"][1]
    path = f"/api/v1/orders/{traders_order.pk}"
    assert client.get(path).json()["id"] == traders_order.pk
    response = client.delete(path)
    assert response.status_code == 202
    assert response.json()["cancel_requested"] is True


@pytest.mark.parametrize(("who", "admin_status"), [("anonymous", 302), ("trader", 302), ("compliance", 302), ("admin", 200)])
def test_django_admin_is_for_admins_only(people, who, admin_status):
    assert people[who][1].get("/admin/").status_code == admin_status


@pytest.mark.parametrize("who", ["anonymous", "trader", "admin", "compliance"])
def test_public_pages_and_schema_are_public(people, who):
    client = people[who][1]
    assert client.get("/").status_code == 200
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
