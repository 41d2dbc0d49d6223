"""Fees: maker/taker per market (edited as market rules) and 30-day volume tiers that every new
order picks up automatically in its place command."""
from datetime import timedelta
from decimal import Decimal

from django.core.cache import cache
from django.utils import timezone

from exchange.trading.fees import fee_rates_for
from exchange.trading.models import Command, FeeTier, Fill, Order
from exchange.trading.services import order_place

D = Decimal


def test_tiers_are_created_and_deleted_with_audit(admin_client, assets, last_audit):
    admin_client.post("/console/fees/tiers", {"quote": "USD", "min_volume": "100000", "maker_fee": "0.0005",
                                              "taker_fee": "0.001", "reason": "Q1 schedule"})
    tier = FeeTier.objects.get()
    assert (tier.quote.symbol, tier.min_volume, tier.maker_fee, tier.taker_fee) == ("USD", D("100000"), D("0.0005"), D("0.001"))
    assert last_audit("fees.tier_create").after == {"quote": "USD", "min_volume": "100000", "maker_fee": "0.0005",
                                                    "taker_fee": "0.001"}
    admin_client.post(f"/console/fees/tiers/{tier.pk}/delete", {"reason": "replaced"})
    assert not FeeTier.objects.exists()
    assert last_audit("fees.tier_delete").before["min_volume"] == "100000.000000000000000000"


def test_absurd_fee_rates_are_refused(admin_client, assets, last_audit):
    admin_client.post("/console/fees/tiers", {"quote": "USD", "min_volume": "0", "maker_fee": "5", "taker_fee": "0.001",
                                              "reason": "typo"})
    assert not FeeTier.objects.exists()
    assert last_audit() is None


def _traded(user, other, market, notional: str, days_ago: int = 1) -> None:
    """A fill of ``notional`` USD between the two users (rows only: the fee lookup reads fills)."""
    buy = order_place(user=user, market=market.symbol, side="buy", price="100", quantity="0.1")
    sell = order_place(user=other, market=market.symbol, side="sell", price="100", quantity="0.1")
    Fill.objects.create(market=market, sequence=Fill.objects.count() + 1, price=D("100"), quantity=D(notional) / 100,
                        buy_order=buy, sell_order=sell, buyer=user, seller=other, aggressor="buy", buyer_fee=0,
                        seller_fee=0, created_at=timezone.now() - timedelta(days=days_ago))


def test_volume_tiers_apply_automatically_to_new_orders(market, make_user, assets, admin):
    from exchange.console.services import fees

    whale = make_user(USD="1000000", BTC="100")
    minnow = make_user(USD="1000000", BTC="100")
    for min_volume, maker, taker in (("10000", "0.0008", "0.0015"), ("100000", "0.0002", "0.0009"),
                                     ("1000000", "0.002", "0.003")):  # the last is above the market's: never raises
        fees.fee_tier_create(actor=admin, ip=None, quote=assets["USD"], min_volume=min_volume, maker_fee=maker,
                             taker_fee=taker, reason="schedule")
    _traded(whale, minnow, market, "60000")
    _traded(whale, minnow, market, "50000", days_ago=10)
    _traded(whale, minnow, market, "900000", days_ago=31)  # outside the 30-day window
    cache.clear()  # the 30-day volume is cached for a minute; order entry above looked it up already

    assert fee_rates_for(user_id=whale.pk, market=market) == (D("0.0002"), D("0.0009"))
    assert fee_rates_for(user_id=minnow.pk, market=market) == (D("0.0002"), D("0.0009"))
    newcomer = make_user(USD="1000")
    assert fee_rates_for(user_id=newcomer.pk, market=market) == (D("0.001"), D("0.002"))

    order = order_place(user=newcomer, market="BTC-USD", side="buy", price="100", quantity="0.5")
    assert Command.objects.get(order=order, kind="place").payload == {"maker_fee": "0.00100000", "taker_fee": "0.00200000"}
    order = order_place(user=whale, market="BTC-USD", side="buy", price="100", quantity="0.5")
    assert Command.objects.get(order=order, kind="place").payload == {"maker_fee": "0.00020000", "taker_fee": "0.00090000"}
    assert Order.objects.count() == 8


def test_fees_page(compliance_client, admin_client, market):
    assert compliance_client.get("/console/fees/").status_code == 200
    assert b"Add a tier" not in compliance_client.get("/console/fees/").content
    assert b"Add a tier" in admin_client.get("/console/fees/").content
