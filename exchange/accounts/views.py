"""Account pages: sign-up, two-factor setup, API keys. Login, logout and password change are Django's."""
import base64

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from exchange.accounts.forms import SignupForm
from exchange.accounts.services import user_create
from exchange.errors import ExchangeError

_FIELD_FOR_CODE = {
    "invalid_username": "username",
    "username_taken": "username",
    "invalid_email": "email",
    "weak_password": "password1",
}


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ExchangeError as exc:
            form.add_error(_FIELD_FOR_CODE.get(exc.code), exc.message)
        else:
            login(request, user, backend="exchange.accounts.backends.ActiveProfileBackend")
            return redirect("home")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/signup.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """Two-factor setup: start (shows a QR code and the secret), then confirm with a code."""
    from exchange.accounts import security as sec

    error = None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "start":
                sec.totp_setup_start(user=request.user)
            else:
                sec.totp_setup_confirm(user=request.user, token=request.POST.get("token", ""))
                return redirect("security")
        except ExchangeError as exc:
            error = exc.message
    pending = sec.totp_device(request.user, confirmed=False)
    context = {
        "enabled": sec.totp_device(request.user) is not None,
        "pending": pending,
        "qr": sec.provisioning_qr_data_uri(pending) if pending else None,
        "secret": base64.b32encode(pending.bin_key).decode() if pending else None,
        "error": error,
        "events": request.user.security_events.all()[:30],
    }
    return render(request, "accounts/security.html", context, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    """List, create (with a two-factor code; the secret is shown once) and revoke API keys."""
    from exchange.accounts import security as sec
    from exchange.accounts.models import ApiKey

    created, error = None, None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "revoke":
                sec.api_key_revoke_own(user=request.user, key_id=request.POST.get("key_id"), request=request)
            else:
                ips = [ip.strip() for ip in request.POST.get("allowed_ips", "").split(",") if ip.strip()]
                created = sec.api_key_issue(user=request.user, otp_token=request.POST.get("otp_token"),
                                            scopes=request.POST.getlist("scopes"), label=request.POST.get("label", ""),
                                            allowed_ips=ips)
        except ExchangeError as exc:
            error = exc.message
    keys = ApiKey.objects.filter(user=request.user).order_by("-created_at")
    context = {"keys": keys, "created": created, "error": error, "has_2fa": sec.totp_device(request.user) is not None}
    return render(request, "accounts/api_keys.html", context, status=400 if error else 200)
