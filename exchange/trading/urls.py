"""The private trading API under /api/v1/ (included from exchange/urls.py, above the api layer)."""
from django.urls import path

from exchange.trading.api import FillListApi, OrderBatchApi, OrderByClientIdApi, OrderDetailApi, OrderListApi

urlpatterns = [
    path("orders", OrderListApi.as_view(), name="api-orders"),
    path("orders/batch", OrderBatchApi.as_view(), name="api-orders-batch"),
    # Before orders/<id>: a client order id may hold any character, a slash included.
    path("orders/by-client-id/<path:client_order_id>", OrderByClientIdApi.as_view(), name="api-order-by-client-id"),
    path("orders/<str:order_id>", OrderDetailApi.as_view(), name="api-order"),
    path("fills", FillListApi.as_view(), name="api-fills"),
]
