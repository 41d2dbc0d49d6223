from django.apps import AppConfig


class WithdrawalsConfig(AppConfig):
    name = "exchange.withdrawals"
    label = "withdrawals"
    verbose_name = "Withdrawals and custody"
