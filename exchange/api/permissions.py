"""Scopes: a request signed with an API key may do only what its key's scopes allow.
A browser session (the trader's own pages) has every trader scope except withdraw."""
from rest_framework import permissions

from exchange.accounts.models import ApiKey


class HasScope(permissions.BasePermission):
    """Requires ``view.required_scope`` ("read" or "trade") of API keys; sessions pass."""

    message = "this API key lacks the scope this endpoint needs"
    code = "missing_scope"

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        auth = request.auth
        if isinstance(auth, ApiKey):
            scope = getattr(view, "required_scopes", {}).get(request.method, "read")
            return scope in auth.scopes
        return True
