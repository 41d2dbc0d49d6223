import pytest

from exchange.errors import ExchangeError
from exchange.markets.services import market_create


def test_market_symbol_is_base_dash_quote(assets):
    market = market_create(base=assets["ETH"], quote=assets["BTC"], tick_size="0.00001", lot_size="0.001")
    assert market.symbol == "ETH-BTC"
    assert market.status == "trading"


@pytest.mark.parametrize(
    ("tick", "lot", "code"),
    [
        ("0", "1", "invalid_rules"),
        ("0.01", "-1", "invalid_rules"),
        ("0.000000001", "1", "invalid_tick_size"),  # finer than the quote's 8 decimals
        ("0.01", "0.000000001", "invalid_lot_size"),  # finer than the base's 8 decimals
        ("0.0001", "0.00001", "invalid_tick_size"),  # tick x lot would not be an exact quote amount
        ("NaN", "1", "invalid_tick_size"),
    ],
)
def test_rules_that_cannot_settle_exactly_are_refused(assets, tick, lot, code):
    with pytest.raises(ExchangeError) as info:
        market_create(base=assets["BTC"], quote=assets["USD"], tick_size=tick, lot_size=lot)
    assert info.value.code == code
