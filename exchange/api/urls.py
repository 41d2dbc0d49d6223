"""``/api/v1/``: the public market data (``exchange.marketdata``) and the private trading API."""
from django.urls import include, path

from exchange.api.clock import ServerTimeApi
from exchange.ledger.api import BalanceListApi, FaucetApi, LedgerListApi
from exchange.trading.api import FillListApi, OrderBatchApi, OrderByClientIdApi, OrderDetailApi, OrderListApi

urlpatterns = [
    path("", include("exchange.marketdata.urls")),
    path("orders", OrderListApi.as_view(), name="api-orders"),
    path("orders/batch", OrderBatchApi.as_view(), name="api-orders-batch"),
    # Before orders/<id>: a client order id may hold any character, a slash included.
    path("orders/by-client-id/<path:client_order_id>", OrderByClientIdApi.as_view(), name="api-order-by-client-id"),
    path("orders/<str:order_id>", OrderDetailApi.as_view(), name="api-order"),
    path("fills", FillListApi.as_view(), name="api-fills"),
    path("balances", BalanceListApi.as_view(), name="api-balances"),
    path("ledger", LedgerListApi.as_view(), name="api-ledger"),
    path("faucet", FaucetApi.as_view(), name="api-faucet"),
    path("time", ServerTimeApi.as_view(), name="api-time"),
]
