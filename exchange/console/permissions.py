"""Who may use the console: ``admin`` everything; ``compliance`` reads markets, users, fees and
the audit log and changes only users' KYC levels (verification is their work); everyone else
(traders) gets 403. Anonymous visitors are
sent to the login page."""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from exchange.accounts.roles import ADMIN, COMPLIANCE, user_has_role

READERS = (ADMIN, COMPLIANCE)
WRITERS = (ADMIN,)
KYC_SETTERS = (ADMIN, COMPLIANCE)


def console_role(*roles: str):
    """Allow the view to users with one of ``roles`` (superusers always)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not any(user_has_role(request.user, role) for role in roles):
                raise PermissionDenied("the console is for admins and compliance officers")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def is_console_admin(user) -> bool:
    return user_has_role(user, ADMIN)


def can_set_kyc(user) -> bool:
    return any(user_has_role(user, role) for role in KYC_SETTERS)
