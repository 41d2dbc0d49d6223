"""Top-level URL configuration."""
from django.contrib import admin
from django.urls import include, path

from exchange.accounts import views as account_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("exchange.accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("exchange.api.urls")),
]
