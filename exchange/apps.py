from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The project itself as an app: binds the Celery app so ``@shared_task`` uses it."""

    name = "exchange"
    label = "core"
    verbose_name = "Exchange"

    def ready(self) -> None:
        from exchange.celery import app  # noqa: F401
