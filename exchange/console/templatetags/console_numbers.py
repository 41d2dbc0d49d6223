"""``{{ value|at_step:market.tick_size }}``: a decimal shown with as many places as the market's
tick (or lot) size has, the way the dashboard and the trading page show it (never 18 places)."""
from decimal import Decimal, InvalidOperation

from django import template

from exchange.amounts import decimal_places

register = template.Library()


@register.filter
def at_step(value, step) -> str:
    if value is None or value == "":
        return "\u2013"  # an en dash, as the other empty cells
    try:
        number, places = Decimal(value), decimal_places(Decimal(step))
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    return f"{number:.{places}f}"
