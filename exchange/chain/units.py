"""Exact conversion between integer base units on chain (wei, a token's smallest unit) and Decimal.

Never through float, and never through the decimal context's precision (28 digits by default,
less than a uint256 has): both directions work on the digits themselves.
"""
from decimal import Decimal


class UnitsError(ValueError):
    """An amount that cannot be expressed exactly in base units (too many decimals, negative...)."""


def to_base_units(amount: Decimal, decimals: int) -> int:
    """``Decimal("1.5")`` with 6 decimals -> ``1500000``; raises ``UnitsError`` rather than round."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise UnitsError(f"not a finite Decimal: {amount!r}")
    sign, digits, exponent = amount.as_tuple()
    if sign and any(digits):
        raise UnitsError(f"negative amount: {amount}")
    assert isinstance(exponent, int)
    shift = exponent + decimals
    number = int("".join(map(str, digits)) or "0")
    if shift >= 0:
        return number * 10**shift
    divisor = 10 ** (-shift)
    if number % divisor:
        raise UnitsError(f"{amount} has more than {decimals} decimals")
    return number // divisor


def from_base_units(value: int, decimals: int) -> Decimal:
    """``1500000`` with 6 decimals -> ``Decimal("1.500000")``, exact for any uint256."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnitsError(f"base units must be a non-negative int, not {value!r}")
    return Decimal(f"{value}E-{decimals}") if decimals else Decimal(value)
