from django.apps import AppConfig


class ChainConfig(AppConfig):
    name = "exchange.chain"
    label = "chain"
    verbose_name = "Blockchain"
