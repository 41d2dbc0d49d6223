"""The current request's client address, for audit entries written far from the view
(Django admin's LogEntry, login signals). Set by ``AuditContextMiddleware``."""
from contextvars import ContextVar

_client_ip: ContextVar[str | None] = ContextVar("audit_client_ip", default=None)


def client_ip(request) -> str | None:
    """The client's address as the web server saw it (REMOTE_ADDR).

    Behind a reverse proxy, configure the proxy (or daphne's ``--proxy-headers``) so that
    REMOTE_ADDR is the client's: X-Forwarded-For is not trusted here because anyone can send it.
    """
    return request.META.get("REMOTE_ADDR") or None


def current_ip() -> str | None:
    return _client_ip.get()


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _client_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)
