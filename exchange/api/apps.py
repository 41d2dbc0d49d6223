from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "exchange.api"
    label = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        from exchange.api import schema  # noqa: F401 - registers the OpenAPI security extension
