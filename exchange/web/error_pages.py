"""Django's error handlers (``handler400`` ... in exchange/urls.py), in the request's language:
the API's JSON error body under ``/api/``, a page that fits the site elsewhere.

Under ``/api/`` a mistyped endpoint used to come back as Django's HTML 404, and anything that
escaped a view as its HTML "Server Error (500)"; clients parse JSON.
"""

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader

from exchange.api.errors import is_api_path, json_error


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return json_error("malformed_request", "the request is malformed", 400)
    return render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return json_error("permission_denied", "this request is not allowed", 403)
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return json_error("not_found", "no such endpoint", 404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """The last resort. Rendered without the request's context: whatever failed may be in it."""
    if is_api_path(request.path):
        return json_error("server_error", "internal error; it has been logged", 500)
    return HttpResponseServerError(loader.get_template("500.html").render())


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a form posted without its token (an expired page, cookies off)."""
    if is_api_path(request.path):
        return json_error("csrf_failed", "CSRF check failed: send the X-CSRFToken header", 403)
    return render(request, "403.html", {"message": "This form has expired or your browser did not send its "
                                                   "security token. Reload the page and try again."}, status=403)
