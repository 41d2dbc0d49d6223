"""Parsing and checking of money amounts: exact ``Decimal`` at the edges, never ``float``.

Every amount that enters the exchange from outside (a form, the API, an operator command) goes
through ``parse_decimal`` so that NaN, infinities, exponents that overflow, floats and absurd
sizes are refused with a clear code before any state is touched.
"""
from decimal import Decimal

from exchange.errors import ExchangeError

# NUMERIC(38, 18): 20 digits before the point. Anything near that is a mistake, not an order.
MAX_DIGITS = 38
DECIMAL_PLACES = 18
MAX_AMOUNT = Decimal(10) ** 15


def parse_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Turn a string, int or Decimal into a finite Decimal, or raise ``invalid_<field>``.

    Floats are refused on purpose: ``0.1`` as a float is not 0.1, and money must be exact.
    """
    if isinstance(value, bool | float):
        raise ExchangeError(f"invalid_{field}", f"{field} must be a decimal string, not a float")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 64:
            raise ExchangeError(f"invalid_{field}", f"{field} is not a number")
        try:
            number = Decimal(text)
        except ArithmeticError:  # InvalidOperation, and Overflow for an exponent like 1e999999999
            raise ExchangeError(f"invalid_{field}", f"{field} is not a number: {value[:64]!r}") from None
    else:
        raise ExchangeError(f"invalid_{field}", f"{field} is not a number")
    if not number.is_finite():
        raise ExchangeError(f"invalid_{field}", f"{field} must be a finite number")
    if not number:
        return Decimal(0)  # -0 and 0E+999999999 are plain zero: no sign, no absurd exponent
    if number.adjusted() < -MAX_DIGITS:
        # 1e-999999999: far past NUMERIC's 18 places, and arithmetic on it fails (a finer amount
        # is left to the precision checks, which name the asset's own number of places).
        raise ExchangeError(f"invalid_{field}", f"{field} has far too many decimal places")
    # adjusted() is the exponent of the leading digit: no arithmetic, so 1e999999999 cannot
    # overflow here (abs() of it raised decimal.Overflow, a 500).
    if number.adjusted() >= MAX_AMOUNT.adjusted():
        raise ExchangeError(f"{field}_too_large", f"{field} is absurdly large")
    return number


def decimal_places(step: Decimal) -> int:
    """Decimal places a tick or lot size shows (0.01 -> 2, 1 -> 0, 5E+1 -> 0); 0 for NaN/infinity."""
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def check_positive_amount(amount: Decimal, *, decimals: int, field: str = "amount") -> Decimal:
    """Refuse zero, negative amounts and amounts with more decimals than the asset has."""
    if amount <= 0:
        raise ExchangeError(f"invalid_{field}", f"{field} must be positive")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > decimals:
        raise ExchangeError(
            f"{field}_precision", f"{field} has more than {decimals} decimal places"
        )
    return amount


def parse_amount(value: object, *, decimals: int, field: str = "amount") -> Decimal:
    """Parse an amount of an asset with ``decimals`` places: positive, finite, exact."""
    return check_positive_amount(parse_decimal(value, field=field), decimals=decimals, field=field)
