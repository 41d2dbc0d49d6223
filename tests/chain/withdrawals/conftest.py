"""Fixtures of the withdrawal tests: chain assets with the dev rules, funded traders who may
withdraw, admins, and (in signer_support.py) the real signer process and a funded hot wallet."""
from decimal import Decimal

import pytest

# A valid EIP-55 address nobody holds a key for (the recipients of the tests).
RECIPIENT = "0x52908400098527886E0F7030069857D2E4169EE7"
TOKEN_ON_NO_CHAIN = "0x8617E340B3D01FA5F11F306F4090FD50E238070D"


@pytest.fixture
def withdraw_settings(settings):
    settings.EXCHANGE_REFERENCE_PRICES = {"ETH": "3000", "USDT": "1", "BTC": "60000"}
    settings.EXCHANGE_ALLOW_LIST_DELAY_HOURS = 24
    return settings


def configure_assets(usdt_contract: str = TOKEN_ON_NO_CHAIN, confirmations: int = 3):
    from exchange.chain.services import ethereum_assets_configure

    return {c.asset.symbol: c for c in ethereum_assets_configure(usdt_contract=usdt_contract,
                                                                 confirmations=confirmations)}


@pytest.fixture
def chain_rules(db, withdraw_settings):
    """ETH and USDT on ``ethereum`` with the dev rules (fee 0.0005 ETH / 1 USDT, minimum 0.001 / 1,
    four eyes above 10 / 10,000); no node needed to request a withdrawal."""
    return configure_assets()


@pytest.fixture
def trader(make_user, chain_rules):
    """A verified trader (KYC 3) holding 20 ETH and 50,000 USDT in the ledger."""
    from exchange.accounts.models import Profile

    user = make_user("wtrader", ETH="20", USDT="50000")
    Profile.objects.filter(user=user).update(kyc_level=3)
    return user


def balance(user, symbol: str) -> tuple[Decimal, Decimal]:
    from exchange.ledger.models import Balance

    row = Balance.objects.filter(account__user=user, asset__symbol=symbol).first()
    return (row.available, row.held) if row else (Decimal(0), Decimal(0))
