"""The demo venue: markets with sensible rules, a few users with balances.

Idempotent: markets and users are created once; deposits use fixed references, so a second
run credits nothing.
"""
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from exchange.accounts.roles import ADMIN, COMPLIANCE, TRADER, roles_sync
from exchange.accounts.services import user_create
from exchange.ledger.services import deposit_credit
from exchange.markets.models import Market
from exchange.markets.services import asset_get_or_create, market_create

DEMO_PASSWORD = "demo-pass-2024"

# USD keeps 8 decimals in the ledger so that every tick x lot notional is an exact amount.
ASSETS = [("BTC", "Bitcoin", 8), ("ETH", "Ether", 18), ("USD", "US dollar", 8)]
MARKETS = [
    # symbol, base, quote, tick, lot, min notional, band %
    ("BTC-USD", "BTC", "USD", "0.01", "0.00001", "1", "20"),
    ("ETH-USD", "ETH", "USD", "0.01", "0.0001", "1", "20"),
    ("ETH-BTC", "ETH", "BTC", "0.00001", "0.001", "0.0001", "20"),
]
USERS = [
    ("alice", TRADER, {"USD": "100000", "BTC": "2", "ETH": "20"}),
    ("bob", TRADER, {"USD": "100000", "BTC": "2", "ETH": "20"}),
    ("carol", TRADER, {"USD": "50000", "BTC": "1", "ETH": "10"}),
    ("maker", TRADER, {"USD": "1000000", "BTC": "50", "ETH": "500"}),
    ("admin", ADMIN, {}),
    ("compliance", COMPLIANCE, {}),
]


# A starting ladder per market from the demo market maker: (mid, step, quantity per level).
LIQUIDITY = {
    "BTC-USD": ("30000", "10", "0.05"),
    "ETH-USD": ("2000", "1", "0.5"),
    "ETH-BTC": ("0.0666", "0.0001", "0.5"),
}
LEVELS = 5


@dataclass
class SeedResult:
    markets: list[str] = field(default_factory=list)
    users: list[tuple[str, str]] = field(default_factory=list)


@transaction.atomic
def seed_demo() -> SeedResult:
    roles_sync()
    result = SeedResult()
    assets = {sym: asset_get_or_create(symbol=sym, name=name, decimals=dec) for sym, name, dec in ASSETS}
    for symbol, base, quote, tick, lot, min_notional, band in MARKETS:
        if not Market.objects.filter(symbol=symbol).exists():
            market_create(
                base=assets[base], quote=assets[quote], tick_size=tick, lot_size=lot,
                min_notional=min_notional, price_band_pct=band,
            )
        result.markets.append(symbol)
    User = get_user_model()
    for username, role, funds in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(username=username, email=f"{username}@demo.invalid", password=DEMO_PASSWORD, role=role)
        for symbol, amount in funds.items():
            deposit_credit(user=user, asset=assets[symbol], amount=amount, reference=f"demo-seed:{username}:{symbol}")
        result.users.append((username, role))
    _seed_liquidity()
    return result


def _seed_liquidity() -> None:
    """Rest a small ladder on each side of every demo market, once (the matcher books it)."""
    from decimal import Decimal

    from exchange.trading.models import Order
    from exchange.trading.services import order_place

    maker = get_user_model().objects.get(username="maker")
    for symbol, (mid, step, quantity) in LIQUIDITY.items():
        if Order.objects.filter(user=maker, market__symbol=symbol).exists():
            continue
        for level in range(1, LEVELS + 1):
            offset = Decimal(step) * level
            order_place(user=maker, market=symbol, side="buy", price=str(Decimal(mid) - offset), quantity=quantity)
            order_place(user=maker, market=symbol, side="sell", price=str(Decimal(mid) + offset), quantity=quantity)
