"""The chain app's endpoints under /api/v1/ (included from exchange/urls.py, above the api layer)."""
from django.urls import path

from exchange.chain import api

urlpatterns = [
    path("assets", api.AssetListApi.as_view(), name="api-assets"),
    path("deposit-address", api.DepositAddressApi.as_view(), name="api-deposit-address"),
    path("deposits", api.DepositListApi.as_view(), name="api-deposits"),
]
