"""Account pages: sign-up, the two-step login, two-factor setup, API keys, ending sessions.
Logout and password change are Django's."""
import base64
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from exchange.accounts import login as login_flow
from exchange.accounts import security as sec
from exchange.accounts.events import security_event_record
from exchange.accounts.forms import LoginForm, SignupForm
from exchange.accounts.http import AuthenticatedHttpRequest
from exchange.accounts.models import ApiKey, SecurityEvent
from exchange.accounts.services import user_create
from exchange.accounts.sessions import session_end, session_end_others
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


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


_WRONG = "Please enter a correct username, password and two-factor code."


@sensitive_post_parameters()
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """The password step. Without two-factor it logs in; with it, the code is asked next (or
    taken from this form, which is how the owner gets past the per-username ceiling). A wrong
    password shows the form again with 200, as Django's own login view does."""
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    next_url = _next_url(request)
    ask_code, status = False, 200
    if request.method == "POST":
        username = request.POST.get("username", "")
        otp_token = request.POST.get("otp_token", "").strip()
        ceiling = login_flow.login_ceiling_reached(username=username)
        if ceiling and not otp_token:
            ask_code, status = True, 429
            form.add_error(None, "Too many failed logins for this account. Enter your two-factor code with your "
                                 "password, or try again later.")
        elif form.is_valid():
            user = form.get_user()
            has_2fa = sec.totp_device(user) is not None
            if not has_2fa and not ceiling:
                login(request, user)
                return redirect(next_url)
            if has_2fa and not otp_token:
                login_flow.login_pending_start(request, user)
                return redirect(f"{resolve_url('login_verify')}?{urlencode({'next': next_url})}")
            device = sec.second_factor_verify(user=user, token=otp_token, request=request) if has_2fa else None
            if device is not None:
                login_flow.login_complete(request, user, device)
                return redirect(next_url)
            security_event_record(user=user, kind=SecurityEvent.Kind.LOGIN_OTP_FAILED, request=request)
            form.add_error(None, _WRONG)
            ask_code, status = ceiling, 429 if ceiling else 200
        else:
            ask_code = ceiling
    if not ask_code:
        del form.fields["otp_token"]
    return render(request, "registration/login.html", {"form": form, "next": next_url}, status=status)


@sensitive_post_parameters()
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """The code step: a current code from the authenticator, or a one-time recovery code."""
    user = login_flow.login_pending_user(request)
    if user is None and request.user.is_authenticated and not request.user.is_verified():  # type: ignore[attr-defined]  # added by django-otp's OTPMiddleware
        user = request.user  # a session from before two-step login, or a staff one to verify
    if user is None:
        return redirect("login")
    next_url = _next_url(request)
    error = None
    if request.method == "POST":
        device = sec.second_factor_verify(user=user, token=request.POST.get("token", ""), request=request)
        if device is not None:
            login_flow.login_complete(request, user, device)
            return redirect(next_url)
        security_event_record(user=user, kind=SecurityEvent.Kind.LOGIN_OTP_FAILED, request=request)
        if not request.user.is_authenticated and not login_flow.login_pending_failed(request):
            messages.error(request, "Too many wrong codes: log in again.")
            return redirect("login")
        error = "That code is not valid (or was already used). Codes change every 30 seconds."
    return render(request, "registration/login_verify.html", {"error": error, "next": next_url},
                  status=400 if error else 200)


_PENDING_DEVICE = "accounts_totp_pending_device"


@login_required
@require_http_methods(["GET", "POST"])
def security(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Two-factor: set up (a QR code and the secret, then a code to confirm), replace or turn off
    (both with the current code or a recovery code). Recovery codes are shown once, at confirm."""
    from django_otp import login as otp_login

    error, recovery_codes = None, None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "start":
                device = sec.totp_setup_start(user=request.user, current_token=request.POST.get("current_token"),
                                              request=request)
                request.session[_PENDING_DEVICE] = device.pk
            elif action == "disable":
                sec.totp_disable(user=request.user, current_token=request.POST.get("current_token"), request=request)
                request.session.pop(_PENDING_DEVICE, None)
                messages.success(request, "Two-factor authentication is off. Withdrawals are locked for a while.")
                return redirect("security")
            else:
                device, recovery_codes = sec.totp_setup_confirm(
                    user=request.user, device_id=request.session.get(_PENDING_DEVICE),
                    token=request.POST.get("token", ""), request=request)
                request.session.pop(_PENDING_DEVICE, None)
                otp_login(request, device)  # this session has just proved the new device
                session_end_others(user=request.user, keep=request.session.session_key)
        except ExchangeError as exc:
            error = exc.message
    pending = sec.totp_device(request.user, confirmed=False)
    if pending is not None and pending.pk != request.session.get(_PENDING_DEVICE):
        pending = None  # started in another session: not this one's to confirm
    context = {
        "enabled": sec.totp_device(request.user) is not None,
        "pending": pending,
        "qr": sec.provisioning_qr_data_uri(pending) if pending else None,
        "secret": base64.b32encode(pending.bin_key).decode() if pending else None,
        "recovery_codes": recovery_codes,
        "recovery_left": sec.recovery_codes_left(request.user),
        "locked_until": sec.withdrawals_locked_until(request.user),
        "error": error,
        "events": request.user.security_events.all()[:30],
    }
    return render(request, "accounts/security.html", context, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: AuthenticatedHttpRequest) -> HttpResponse:
    """List, create (with a two-factor code; the secret is shown once) and revoke API keys."""
    created, error = None, None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "revoke":
                sec.api_key_revoke_own(user=request.user, key_id=request.POST.get("key_id"), request=request)
            else:
                ips = [ip.strip() for ip in request.POST.get("allowed_ips", "").split(",") if ip.strip()]
                created = sec.api_key_issue(user=request.user, otp_token=request.POST.get("otp_token"),
                                            scopes=request.POST.getlist("scopes"), label=request.POST.get("label", ""),
                                            allowed_ips=ips, request=request)
        except ExchangeError as exc:
            error = exc.message
    keys = ApiKey.objects.filter(user=request.user).order_by("-created_at")
    context = {"keys": keys, "created": created, "error": error, "has_2fa": sec.totp_device(request.user) is not None,
               "form_data": request.POST if error else None}
    return render(request, "accounts/api_keys.html", context, status=400 if error else 200)


@login_required
@require_POST
def session_end_view(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    """Sign one of the user's sessions out (this one too, if chosen)."""
    try:
        key = session_end(user=request.user, session_id=session_id, request=request)
    except ExchangeError as exc:
        messages.error(request, exc.message)
        return redirect("web:account")
    if key == request.session.session_key:
        return redirect("login")
    messages.success(request, "Signed that session out.")
    return redirect("web:account")
