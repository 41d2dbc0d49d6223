from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "exchange.trading"
    label = "trading"
    verbose_name = "Trading"

    def ready(self) -> None:
        from exchange.ledger.verification import register_check
        from exchange.trading.verification import check_holds_match_open_orders

        register_check("held amounts belong to open orders", check_holds_match_open_orders)
