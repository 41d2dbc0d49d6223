"""Candles: OHLCV per market, interval and bucket, kept up to date in the matcher's batch
transaction (``services.candles_upsert``), so they are exactly as durable as the fills.

Everything else the market data serves lives in Redis (the book and its recent deltas, written
by the matcher after each commit) or is read from the fills.
"""
from django.db import models

from exchange.amounts import DECIMAL_PLACES, MAX_DIGITS
from exchange.markets.models import Market

# Interval name -> length in seconds. Buckets are aligned to the Unix epoch (UTC): 4h candles
# open at 00:00, 04:00, ... UTC and daily candles at midnight UTC.
INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14_400, "1d": 86_400}


def _amount_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class Candle(models.Model):
    """The trades of one market in one bucket ``[open_time, open_time + interval)``.

    ``open`` and ``close`` are the prices of the bucket's first and last trade in market
    sequence order (``first_sequence``, ``last_sequence``); a trade's time is its fill's
    ``created_at``. Buckets without trades have no row; readers fill them in.
    """

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="candles")
    interval = models.CharField(max_length=3, choices=[(k, k) for k in INTERVALS])
    open_time = models.DateTimeField()
    open = _amount_field()
    high = _amount_field()
    low = _amount_field()
    close = _amount_field()
    volume = _amount_field(help_text="Base quantity traded.")
    quote_volume = _amount_field(help_text="Quote amount traded (sum of price x quantity).")
    trade_count = models.IntegerField()
    first_sequence = models.BigIntegerField()
    last_sequence = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["market", "interval", "open_time"], name="candle_market_interval_time_unique")
        ]

    def __str__(self) -> str:
        return f"{self.market_id} {self.interval} {self.open_time:%Y-%m-%d %H:%M} c={self.close}"
