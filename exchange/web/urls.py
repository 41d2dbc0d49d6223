"""The trader's pages. Included at the site root by exchange/urls.py."""
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path, reverse_lazy
from django.utils.functional import lazy
from django.views.generic import RedirectView

from exchange.web import allow_list, views

app_name = "web"

_reset = "accounts/password/reset/"

urlpatterns = [
    path("markets/", views.markets, name="markets"),
    path("trade/", views.trade_default, name="trade_default"),
    path("trade/<str:symbol>/", views.trade, name="trade"),
    path("wallet/", views.wallet, name="wallet"),
    path("wallet/ledger.csv", views.ledger_csv, name="ledger_csv"),
    path("account/", views.account, name="account"),
    path("account/withdrawal-addresses/", allow_list.allow_list, name="allow_list"),
    path("account/sessions/end-others/", views.sessions_end_others, name="sessions_end_others"),
    # Lazy: the hashed name is known from the static files manifest, read on first use.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("web/favicon.svg"), permanent=True)),
    # Password reset by e-mail (Django's views; the mail goes through EMAIL_BACKEND).
    path(_reset, auth_views.PasswordResetView.as_view(
        template_name="web/password_reset_form.html", email_template_name="web/password_reset_email.txt",
        subject_template_name="web/password_reset_subject.txt", success_url=reverse_lazy("web:password_reset_done"),
    ), name="password_reset"),
    path(_reset + "sent/", auth_views.PasswordResetDoneView.as_view(template_name="web/password_reset_done.html"),
         name="password_reset_done"),
    path(_reset + "<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        template_name="web/password_reset_confirm.html", success_url=reverse_lazy("web:password_reset_complete"),
    ), name="password_reset_confirm"),
    path(_reset + "done/", auth_views.PasswordResetCompleteView.as_view(
        template_name="web/password_reset_complete.html"), name="password_reset_complete"),
]
