"""``/api/v1/``: the public market data (``exchange.marketdata``) and the private trading API."""
from django.urls import include, path

from exchange.ledger.api import BalanceListApi, FaucetApi, LedgerListApi
from exchange.trading.api import FillListApi, OrderBatchApi, OrderDetailApi, OrderListApi

urlpatterns = [
    path("", include("exchange.marketdata.urls")),
    path("orders", OrderListApi.as_view(), name="api-orders"),
    path("orders/batch", OrderBatchApi.as_view(), name="api-orders-batch"),
    path("orders/<str:order_id>", OrderDetailApi.as_view(), name="api-order"),
    path("fills", FillListApi.as_view(), name="api-fills"),
    path("balances", BalanceListApi.as_view(), name="api-balances"),
    path("ledger", LedgerListApi.as_view(), name="api-ledger"),
    path("faucet", FaucetApi.as_view(), name="api-faucet"),
]
