"""``/api/v1/`` endpoints of the api layer itself: the server's clock. Each app's endpoints are in
its own ``urls.py`` (market data, trading, ledger, chain), included from ``exchange/urls.py``:
the api layer is plumbing below them and imports none of them."""
from django.urls import path

from exchange.api.clock import ServerTimeApi

urlpatterns = [
    path("time", ServerTimeApi.as_view(), name="api-time"),
]
