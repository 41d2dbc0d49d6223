"""``/api/v1/``: the public market data (``exchange.marketdata``) and the private trading API."""
from django.urls import include, path

urlpatterns = [
    path("", include("exchange.marketdata.urls")),
]
