from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "exchange.console"
    label = "console"
    verbose_name = "Console"
