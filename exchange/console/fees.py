"""Fee schedules belong to trading (``exchange/trading/fees.py``); the console edits the tiers and
reads the rates through these names."""
from exchange.trading.fees import VOLUME_WINDOW, fee_rates_for, user_volume_30d

__all__ = ["VOLUME_WINDOW", "fee_rates_for", "user_volume_30d"]
