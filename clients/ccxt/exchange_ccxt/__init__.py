"""A ccxt driver for the exchange: ``from exchange_ccxt import Venue``."""
from exchange_ccxt.venue import Venue

__all__ = ["Venue"]
