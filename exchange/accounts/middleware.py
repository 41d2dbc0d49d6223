"""Where the second factor is enforced on every request.

- A session of a user with two-factor on that has not passed it (one from before the two-step
  login, or made some other way) reaches only the code page and logout; /api/ gets a JSON 403.
- Staff (``is_staff``, superusers, the ``admin`` and ``compliance`` roles) must have two-factor
  to use the console, surveillance and the Django admin: without a device they are sent to
  enrol, with one they must have passed it.
- The Django admin's own login form, which would log in with the password alone, sends to ours.
"""
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from exchange.accounts.roles import ADMIN, COMPLIANCE

STAFF_PREFIXES = ("/console/", "/surveillance/", "/admin/")


def is_staff_role(user) -> bool:
    return bool(user.is_staff or user.is_superuser or user.groups.filter(name__in=[ADMIN, COMPLIANCE]).exists())


def _to(name: str, path: str) -> HttpResponse:
    return redirect(f"{reverse(name)}?{urlencode({'next': path})}")


class SecondFactorMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith("/admin/login/"):
            return _to("login", request.GET.get("next") or "/admin/")
        user = request.user
        if user.is_authenticated and not user.is_verified():  # type: ignore[attr-defined]  # django-otp's OTPMiddleware adds is_verified
            exempt = path in (reverse("login_verify"), reverse("logout")) or path.startswith("/static/")
            if not exempt and TOTPDevice.objects.filter(user=user, confirmed=True).exists():
                if path.startswith("/api/"):
                    return JsonResponse({"error": {"code": "otp_required",
                                                   "message": "this session has not passed two-factor authentication"}},
                                        status=403)
                return _to("login_verify", request.get_full_path())
            if path.startswith(STAFF_PREFIXES) and is_staff_role(user):
                return _to("security", request.get_full_path())
        return self.get_response(request)
