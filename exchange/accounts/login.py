"""Logging in with a second factor, and the per-username ceiling on failed logins.

With two-factor on, the password step does not log in: it leaves a *pending* login in the
session (the user id, nothing else), which can do nothing but answer the code step; only a
correct code (or a recovery code) calls ``login()`` and marks the session verified for
django-otp. A stolen password therefore never yields a session, an /api/ call or a socket.

django-axes locks a (username, address) pair after repeated failures. A distributed guesser
uses many addresses, so failures are also counted per username from any address: past
``EXCHANGE_LOGIN_USER_FAILURE_CEILING`` within ``EXCHANGE_LOGIN_USER_WINDOW_MINUTES`` the
password alone is refused (without being checked). An outsider can push an account over that
ceiling, but not lock its owner out: the owner adds their two-factor code to the password and
is checked as usual. (An account without two-factor waits for the window to pass.)
"""
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.models import User
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.models import Device

from exchange.accounts.models import SecurityEvent

PENDING_KEY = "accounts_login_pending"
PENDING_TTL_SECONDS = 300
PENDING_MAX_TRIES = 5


def login_failures_recent(*, username: str) -> int:
    """Failed logins (password or code) for ``username`` from any address within the window."""
    since = timezone.now() - timedelta(minutes=settings.EXCHANGE_LOGIN_USER_WINDOW_MINUTES)
    return SecurityEvent.objects.filter(
        user__username=username, created_at__gte=since,
        kind__in=[SecurityEvent.Kind.LOGIN_FAILED, SecurityEvent.Kind.LOGIN_OTP_FAILED],
    ).count()


def login_ceiling_reached(*, username: str) -> bool:
    return bool(username) and login_failures_recent(username=username) >= settings.EXCHANGE_LOGIN_USER_FAILURE_CEILING


def login_pending_start(request, user: User) -> None:
    """The password was right and a code is needed: remember who, under a fresh session key."""
    request.session.cycle_key()
    request.session[PENDING_KEY] = {"user_id": user.pk, "backend": user.backend, "at": time.time(), "tries": 0}


def login_pending_user(request) -> User | None:
    """The user whose password was given in this session within the last few minutes, or None."""
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending.get("at", 0) > PENDING_TTL_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    user = get_user_model().objects.filter(pk=pending["user_id"], is_active=True).first()
    if user is not None:
        user.backend = pending["backend"]
    return user


def login_pending_failed(request) -> bool:
    """Count a wrong code; after a few, the password must be given again (which django-axes
    counts). Returns whether the pending login is still open."""
    pending = request.session.get(PENDING_KEY)
    if not pending:
        return False
    pending["tries"] = pending.get("tries", 0) + 1
    if pending["tries"] >= PENDING_MAX_TRIES:
        request.session.pop(PENDING_KEY, None)
        return False
    request.session[PENDING_KEY] = pending
    return True


def login_complete(request, user: User, device: Device) -> None:
    """Log the user in (unless this session already is theirs) and mark it verified."""
    request.session.pop(PENDING_KEY, None)
    if not (request.user.is_authenticated and request.user.pk == user.pk):
        login(request, user, backend=getattr(user, "backend", None))
    otp_login(request, device)
