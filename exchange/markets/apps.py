from django.apps import AppConfig


class MarketsConfig(AppConfig):
    name = "exchange.markets"
    label = "markets"
    verbose_name = "Assets and markets"
