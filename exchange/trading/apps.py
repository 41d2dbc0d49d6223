from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "exchange.trading"
    label = "trading"
    verbose_name = "Trading"

    def ready(self) -> None:
        from exchange.ledger.verification import register_check
        from exchange.trading.verification import check_holds_match_open_orders, check_open_orders_hold_what_they_need

        register_check("held amounts belong to open orders", check_holds_match_open_orders)
        register_check("open orders hold what they need", check_open_orders_hold_what_they_need)
