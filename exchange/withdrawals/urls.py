"""``/api/v1/withdrawals``: included by ``exchange.urls`` beside the API's own paths."""
from django.urls import path

from exchange.withdrawals.api import WithdrawalCancelApi, WithdrawalListApi

urlpatterns = [
    path("withdrawals", WithdrawalListApi.as_view(), name="api-withdrawals"),
    path("withdrawals/<str:withdrawal_id>/cancel", WithdrawalCancelApi.as_view(), name="api-withdrawal-cancel"),
]
