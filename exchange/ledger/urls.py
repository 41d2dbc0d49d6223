"""Balances, the ledger and the demo faucet under /api/v1/ (included from exchange/urls.py, above
the api layer)."""
from django.urls import path

from exchange.ledger.api import BalanceListApi, FaucetApi, LedgerListApi

urlpatterns = [
    path("balances", BalanceListApi.as_view(), name="api-balances"),
    path("ledger", LedgerListApi.as_view(), name="api-ledger"),
    path("faucet", FaucetApi.as_view(), name="api-faucet"),
]
