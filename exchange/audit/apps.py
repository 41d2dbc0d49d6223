from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "exchange.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from exchange.audit import signals

        signals.connect()
