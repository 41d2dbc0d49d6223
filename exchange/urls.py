"""Top-level URL configuration."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from exchange.accounts import views as account_views
from exchange.console.metrics import metrics_view

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("exchange.accounts.urls")),
    path("admin/", admin.site.urls),
    path("console/", include("exchange.console.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include("exchange.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
