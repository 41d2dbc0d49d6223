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
    ("admin", ADMIN, {}),
    ("compliance", COMPLIANCE, {}),
]


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
            if role == ADMIN:
                user.is_staff = True
                user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
        for symbol, amount in funds.items():
            deposit_credit(user=user, asset=assets[symbol], amount=amount, reference=f"demo-seed:{username}:{symbol}")
        result.users.append((username, role))
    return result
