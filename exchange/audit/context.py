"""Request context for audit entries written far from the view (Django admin's LogEntry, login
signals): the client's address, and for Django admin requests the rows' state before the
change. Set by ``AuditContextMiddleware``."""
from contextvars import ContextVar

from exchange.infra.net import client_ip

__all__ = ["AuditContextMiddleware", "admin_snapshots", "client_ip", "current_ip"]

_client_ip: ContextVar[str | None] = ContextVar("audit_client_ip", default=None)
# (app_label.model, pk) -> the row as it was before an admin request changed or deleted it.
_admin_snapshots: ContextVar[dict | None] = ContextVar("audit_admin_snapshots", default=None)

ADMIN_PREFIX = "/admin/"


def current_ip() -> str | None:
    return _client_ip.get()


def admin_snapshots() -> dict | None:
    """The before-images of this Django admin request (None outside Django admin)."""
    return _admin_snapshots.get()


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ip_token = _client_ip.set(client_ip(request))
        snapshot_token = _admin_snapshots.set({} if request.path.startswith(ADMIN_PREFIX) else None)
        try:
            return self.get_response(request)
        finally:
            _admin_snapshots.reset(snapshot_token)
            _client_ip.reset(ip_token)
