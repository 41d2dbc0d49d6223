"""Shared fixtures. Tests run against the real PostgreSQL of DATABASE_URL (pytest-django makes a
``test_`` database beside it) and the real Redis of REDIS_URL; never SQLite, never a fake Redis.

Imports of Django code happen inside the fixtures so that the pure engine and detector tests
under this folder run without Django.
"""
import pytest

PASSWORD = "correct-horse-battery-42"


@pytest.fixture
def assets(db):
    from exchange.markets.services import asset_get_or_create

    return {
        "BTC": asset_get_or_create(symbol="BTC", name="Bitcoin", decimals=8),
        "USD": asset_get_or_create(symbol="USD", name="US dollar", decimals=8),
        "ETH": asset_get_or_create(symbol="ETH", name="Ether", decimals=18),
    }


@pytest.fixture
def market(assets):
    from exchange.markets.services import market_create

    return market_create(
        base=assets["BTC"], quote=assets["USD"], tick_size="0.01", lot_size="0.0001",
        min_notional="10", min_quantity="0.0001", max_quantity="100", price_band_pct="10",
        maker_fee="0.001", taker_fee="0.002",
    )


@pytest.fixture
def make_user(db):
    """``make_user("alice", USD="1000")``: a trader with deposited funds."""
    from exchange.accounts.services import user_create
    from exchange.ledger.services import deposit_credit
    from exchange.markets.models import Asset

    counter = iter(range(1, 10_000))

    def make(username: str | None = None, **funds: str):
        name = username or f"trader{next(counter)}"
        user = user_create(username=name, email=f"{name}@example.com", password=PASSWORD)
        for symbol, amount in funds.items():
            deposit_credit(user=user, asset=Asset.objects.get(symbol=symbol), amount=amount, reference=f"fixture:{name}:{symbol}")
        return user

    return make


@pytest.fixture
def ledger_clean():
    """Returns a function asserting that every ledger invariant holds."""
    from exchange.ledger.verification import verify_ledger

    def check() -> None:
        breaches = [(name, problems) for name, problems in verify_ledger() if problems]
        assert not breaches, breaches

    return check


def pytest_configure(config):
    """Hash test passwords with a fast hasher: PBKDF2's deliberate slowness only slows tests."""
    try:
        from django.conf import settings

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        # The test client speaks plain HTTP; the HTTPS redirect is covered by the deploy check.
        settings.SECURE_SSL_REDIRECT = False
        # Streams written by tests go to a Redis database of their own, never the app's.
        settings.REDIS_URL = settings.REDIS_URL.rsplit("/", 1)[0] + "/8"
    except Exception:
        return
