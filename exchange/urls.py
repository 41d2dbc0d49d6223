"""Top-level URL configuration."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from exchange.console.metrics import metrics_view
from exchange.web import views as web_views

urlpatterns = [
    path("", web_views.markets, name="home"),
    path("accounts/", include("exchange.accounts.urls")),
    path("admin/", admin.site.urls),
    path("console/", include("exchange.console.urls")),
    path("surveillance/", include("surveillance.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include("exchange.marketdata.urls")),
    path("api/v1/", include("exchange.trading.urls")),
    path("api/v1/", include("exchange.ledger.urls")),
    path("api/v1/", include("exchange.api.urls")),
    path("api/v1/", include("exchange.chain.urls")),
    path("api/v1/", include("exchange.withdrawals.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's script as a file, so the page runs under our CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("exchange.web.urls")),
]

# Errors answer in the request's language: JSON under /api/, a page elsewhere.
handler400 = "exchange.web.error_pages.bad_request"
handler403 = "exchange.web.error_pages.permission_denied"
handler404 = "exchange.web.error_pages.page_not_found"
handler500 = "exchange.web.error_pages.server_error"
