from django.contrib.auth import views as auth_views
from django.urls import path

from exchange.accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.login_verify, name="login_verify"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("security/", views.security, name="security"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("sessions/<int:session_id>/end/", views.session_end_view, name="session_end"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]
