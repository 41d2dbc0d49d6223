"""Ledger fixtures: KYC tiers and reference prices, for withdrawals that the limits allow."""
import pytest


@pytest.fixture
def kyc_level():
    """``kyc_level(user, 2)``: set a user's verification tier."""
    from exchange.accounts.models import Profile
    from exchange.accounts.services import profile_for

    def set_level(user, level: int):
        profile_for(user)
        Profile.objects.filter(user=user).update(kyc_level=level)
        return user

    return set_level


@pytest.fixture
def prices(settings):
    """Reference prices in USD for valuing BTC and ETH against the KYC limits."""
    settings.EXCHANGE_REFERENCE_PRICES = {"BTC": "50000", "ETH": "2500"}
    settings.EXCHANGE_KYC_QUOTE = "USD"
    return settings.EXCHANGE_REFERENCE_PRICES
