"""Ends the session of a user who was frozen while logged in."""
from django.contrib.auth import logout
from django.http import HttpResponseForbidden

from exchange.accounts.backends import is_frozen


class FrozenUserMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and is_frozen(user):
            logout(request)
            return HttpResponseForbidden("This account is frozen. Contact support.")
        return self.get_response(request)
