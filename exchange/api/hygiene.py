"""Input hygiene at the door, for every request: what no part of the venue can use is refused
with a 4xx before any view, form or query sees it.

- A NUL byte anywhere in the path, the query string or a posted form field (PostgreSQL cannot
  store one: a symbol or an asset holding one reached the database and came back as a 500;
  streamed as the ledger CSV it left the connection hanging; a username holding one failed the
  login page).
- A query string that is not UTF-8 once percent-decoded (Django would silently replace the
  bytes, and the signed path would no longer be what the client signed).
- A ``Content-Length`` that is not a number, or, under ``/api/``, larger than
  ``EXCHANGE_API_MAX_BODY_BYTES`` (413, before the body is read). Elsewhere Django's own
  ``DATA_UPLOAD_MAX_MEMORY_SIZE`` applies.

And the shape of errors: under ``/api/`` every error is ``{"error": {"code", "message"}}``
JSON, whichever layer produced it (Django's empty 400 for a multipart body it cannot parse,
a bare 405 from a decorator, a CSRF refusal); elsewhere a bare 405 becomes a page.
"""
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from exchange.api.errors import is_api_path, json_error

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_CODES = {400: "malformed_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
          405: "method_not_allowed", 406: "not_acceptable", 413: "request_too_large",
          415: "unsupported_media_type", 429: "rate_limited"}
_MESSAGES = {400: "the request is malformed", 401: "authentication is required",
             403: "this request is not allowed", 404: "no such endpoint", 405: "this method is not allowed here",
             413: "the request body is too large", 415: "unsupported content type"}


def bad_input(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    """A refusal in the request's own language: JSON under ``/api/``, a page elsewhere."""
    if is_api_path(request.path):
        return json_error(_CODES.get(status, "malformed_request"), message, status)
    return render(request, f"{status}.html" if status in (400, 403, 404, 405) else "400.html",
                  {"message": message}, status=status)


def input_refusal(request: HttpRequest) -> tuple[str, int] | None:
    """Why this request cannot be served at all, as (message, status), or None."""
    if "\x00" in request.path:
        return "the path contains a NUL byte", 400
    query = request.META.get("QUERY_STRING", "")
    if query:
        raw = unquote_to_bytes(query)
        if b"\x00" in raw:
            return "the query string contains a NUL byte", 400
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return "the query string is not UTF-8", 400
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or len(length) > 18:
        return "Content-Length is not a number", 400
    if is_api_path(request.path):
        if int(length) > settings.EXCHANGE_API_MAX_BODY_BYTES:
            return f"the body is larger than {settings.EXCHANGE_API_MAX_BODY_BYTES} bytes", 413
        return None  # API bodies are JSON: the API's parser refuses NUL in them
    # The form is read here as the CSRF check would read it; a body too large or unparsable is
    # Django's own 400 (handler400).
    if request.method == "POST" and request.content_type in _FORM_TYPES and _has_nul(request.POST):
        return "a form field contains a NUL byte", 400
    return None


def _has_nul(form) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in form.lists())


class InputHygieneMiddleware:
    """Refuses what ``input_refusal`` finds; gives every ``/api/`` error the API's JSON shape."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = input_refusal(request)
        if refusal is not None:
            return bad_input(request, *refusal)
        return json_shaped(request, self.get_response(request))


def json_shaped(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """``response``, or, for an error some layer below DRF wrote as HTML or nothing, the same
    error in the API's shape under ``/api/`` (and a page for a bare 405 elsewhere)."""
    if response.status_code < 400 or getattr(response, "streaming", False):
        return response
    if is_api_path(request.path):
        if not response.get("Content-Type", "").startswith("application/json"):
            return _as_json(response)
    elif response.status_code == 405 and not response.content:
        page = render(request, "405.html", status=405)
        page["Allow"] = response.get("Allow", "")
        return page
    return response


def _as_json(response: HttpResponse) -> HttpResponse:
    status = response.status_code
    shaped = json_error(_CODES.get(status, "server_error" if status >= 500 else "request_error"),
                        _MESSAGES.get(status, "the request failed" if status < 500 else "internal error"), status)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            shaped[header] = response[header]
    return shaped
