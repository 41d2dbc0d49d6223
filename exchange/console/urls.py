from django.urls import path

from exchange.console import chain_views, views

app_name = "console"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("health.json", views.health_json, name="health"),
    path("markets/", views.market_list, name="markets"),
    path("markets/new", views.market_create, name="market_create"),
    path("assets/new", views.asset_create, name="asset_create"),
    path("markets/<str:symbol>/", views.market_detail, name="market"),
    path("markets/<str:symbol>/rules", views.market_rules, name="market_rules"),
    path("markets/<str:symbol>/status", views.market_status, name="market_status"),
    path("markets/<str:symbol>/cancel-all", views.market_cancel_all, name="market_cancel_all"),
    path("users/", views.user_list, name="users"),
    path("users/<int:user_id>/", views.user_detail, name="user"),
    path("users/<int:user_id>/freeze", views.user_freeze, name="user_freeze"),
    path("users/<int:user_id>/unfreeze", views.user_unfreeze, name="user_unfreeze"),
    path("users/<int:user_id>/kyc", views.user_kyc, name="user_kyc"),
    path("users/<int:user_id>/api-keys/<int:key_id>/revoke", views.api_key_revoke, name="api_key_revoke"),
    path("funds/", views.funds, name="funds"),
    path("funds/deposit", views.deposit, name="deposit"),
    path("funds/adjust", views.adjust, name="adjust"),
    path("funds/withdrawals/<int:withdrawal_id>/approve", views.withdrawal_approve, name="withdrawal_approve"),
    path("funds/withdrawals/<int:withdrawal_id>/reject", views.withdrawal_reject, name="withdrawal_reject"),
    path("funds/approvals/<int:approval_id>/approve", views.approval_approve, name="approval_approve"),
    path("funds/approvals/<int:approval_id>/reject", views.approval_reject, name="approval_reject"),
    path("chain/", chain_views.chain, name="chain"),
    path("chain/reviews/<int:review_id>/resolve", chain_views.reorg_review_resolve, name="reorg_review_resolve"),
    path("fees/", views.fees, name="fees"),
    path("fees/tiers", views.fee_tier_create, name="fee_tier_create"),
    path("fees/tiers/<int:tier_id>/delete", views.fee_tier_delete, name="fee_tier_delete"),
    path("audit/", views.audit, name="audit"),
    path("audit.csv", views.audit_csv, name="audit_csv"),
]
