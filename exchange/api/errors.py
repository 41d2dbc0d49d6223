"""One error shape for the whole API: ``{"error": {"code", "message"}}`` with a 4xx status.

Domain errors (``ExchangeError``) keep their code; DRF's own (authentication, permissions,
throttling, parsing, validation) are mapped to stable codes. Nothing a client sends can
produce a 500 through this path.
"""
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from exchange.errors import ExchangeError

_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ParseError: "malformed_request",
}


def error_response(code: str, message: str, status_code: int, headers: dict | None = None) -> Response:
    return Response({"error": {"code": code, "message": message}}, status=status_code, headers=headers)


def json_error(code: str, message: str, status_code: int) -> JsonResponse:
    """The same body outside DRF: Django's error handlers and middleware under ``/api/``."""
    return JsonResponse({"error": {"code": code, "message": message}}, status=status_code)


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def _first_message(detail) -> tuple[str, str]:
    """The first field error of a validation error, as (field, message)."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            _, message = _first_message(value)
            return str(field), message
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return "", str(detail)


def exception_handler(exc, context):
    if isinstance(exc, ExchangeError):
        return error_response(exc.code, exc.message, exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_message(exc.detail)
        invalid = f"invalid_{field}" if field and field != "non_field_errors" else "invalid_request"
        return error_response(invalid, f"{field}: {message}" if field else message, status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "code", None)
    if code is None and isinstance(exc, exceptions.APIException):
        raised = exc.get_codes()
        # A code given where the exception was raised (e.g. missing_scope) beats the default.
        if isinstance(raised, str) and raised != exc.default_code:
            code = raised
    code = code or next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "request_error")
    headers = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait) + 1)
    elif response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        headers["Retry-After"] = "1"  # a dependency blinked (e.g. Redis for the replay guard): try again shortly
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    return error_response(code, str(detail), response.status_code, headers)
