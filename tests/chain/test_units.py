"""Base units <-> Decimal: exact both ways, for any uint256, refusing what would round."""
from decimal import Decimal

import pytest

from exchange.chain.units import UnitsError, from_base_units, to_base_units


@pytest.mark.parametrize(("amount", "decimals", "units"), [
    ("1", 18, 10**18), ("0.000000000000000001", 18, 1), ("1.5", 6, 1_500_000), ("0", 6, 0),
    ("123456789.123456", 6, 123456789123456), ("1E+3", 6, 10**9), ("2.50000000", 6, 2_500_000),
])
def test_to_base_units_is_exact(amount, decimals, units):
    assert to_base_units(Decimal(amount), decimals) == units


def test_round_trip_of_the_largest_uint256_keeps_every_digit():
    top = 2**256 - 1
    value = from_base_units(top, 18)
    assert str(value) == f"{str(top)[:-18]}.{str(top)[-18:]}"
    assert to_base_units(value, 18) == top


def test_from_base_units_gives_the_chain_decimals():
    assert from_base_units(1_500_000, 6) == Decimal("1.5")
    assert from_base_units(1, 18) == Decimal("1E-18")
    assert from_base_units(7, 0) == Decimal(7)


@pytest.mark.parametrize("amount", [Decimal("0.0000001"), Decimal("-1"), Decimal("NaN"), Decimal("Infinity")])
def test_to_base_units_refuses_what_would_round_or_is_not_an_amount(amount):
    with pytest.raises(UnitsError):
        to_base_units(amount, 6)


@pytest.mark.parametrize("value", [-1, 1.5, True, "10"])
def test_from_base_units_refuses_non_integers(value):
    with pytest.raises(UnitsError):
        from_base_units(value, 6)
