"""How the driver talks to the venue: the base URL, signing, error classes and paging.

Kept apart from ``venue.py`` (what each ccxt method asks and how the answers map to ccxt's
structures) because it is the one place that must agree byte for byte with the server's signature
check (``exchange/api/signing.py``) and its error shape (``exchange/api/errors.py``).
"""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import ccxt
from ccxt.base.errors import ArgumentsRequired, BadResponse

from exchange_ccxt.errors import error_class

# The signature covers the path as the server rebuilds it (Django's get_full_path(), which
# escapes with escape_uri_path), so a path value is escaped with exactly its set of safe characters.
PATH_SAFE = "/:@&+$,-_.!~*'()"
# The most list items the venue gives per page (PageQuery's limit on orders and fills).
PAGE_MAX = 500


class Transport(ccxt.Exchange):
    """ccxt's request machinery (``request`` -> ``sign`` -> ``fetch`` -> ``handle_errors``) set
    up for the venue's ``/api/v1/``."""

    def _api_base(self) -> str:
        """The venue's address: ``urls['api']`` as a string (the documented constructor form),
        or a dict with a ``rest`` entry (ccxt's usual shape)."""
        api = self.urls.get("api")
        if isinstance(api, dict):
            api = api.get("rest") or api.get("public")
        if not isinstance(api, str) or not api:
            raise ArgumentsRequired(self.id + " needs urls['api'], the venue's base URL, e.g. http://127.0.0.1:8000")
        return api.rstrip("/")

    def nonce(self) -> int:
        """The X-API-TIMESTAMP: milliseconds, corrected by ``options['timeDifference']``, and
        increasing within a second. The venue refuses a signature it has seen inside its receive
        window (a replay), so two identical requests in one millisecond must not sign alike. A
        clock corrected backwards (``load_time_difference``) is followed at once, not held ahead."""
        now = self.milliseconds() - int(self.safe_integer(self.options, "timeDifference", 0))
        last = getattr(self, "_last_nonce", 0)
        if last - 1000 < now <= last:
            now = last + 1
        self._last_nonce = now
        return now

    def sign(self, path: str, api: Any = "public", method: str = "GET", params: dict | None = None,
             headers: dict | None = None, body: str | None = None) -> dict:
        """The request for ``path`` (relative to ``/api/v1/``, with ``{name}`` placeholders).

        GET and DELETE send the other params as the query, POST and PATCH as a JSON body. A
        private request carries X-API-KEY, X-API-TIMESTAMP and X-API-SIGNATURE = hex
        HMAC-SHA256(secret, timestamp + METHOD + path_with_query + body), signed over exactly
        the bytes sent."""
        params = params or {}
        section = api[0] if isinstance(api, list) else api
        placeholders = self.extract_params(path)
        segments = {name: quote(str(params[name]), safe=PATH_SAFE) for name in placeholders}
        path_with_query = "/api/" + self.version + "/" + self.implode_params(path, segments)
        query = {k: v for k, v in self.omit(params, placeholders).items() if v is not None}
        body = None
        if method in ("GET", "DELETE"):
            if query:
                path_with_query += "?" + self.urlencode(query)
        elif query:
            body = self.json(query)
        request_headers: dict[str, str] = {}
        if body is not None:
            request_headers["Content-Type"] = "application/json"
        if section == "private":
            self.check_required_credentials()
            timestamp = str(self.nonce())
            payload = timestamp + method + path_with_query + (body or "")
            request_headers.update({
                "X-API-KEY": self.apiKey,
                "X-API-TIMESTAMP": timestamp,
                "X-API-SIGNATURE": self.hmac(self.encode(payload), self.encode(self.secret)),
            })
        return {"url": self._api_base() + path_with_query, "method": method, "body": body, "headers": request_headers}

    def handle_errors(self, code: int, reason: str, url: str, method: str, headers: dict, body: str,
                      response: Any, request_headers: Any, request_body: Any) -> None:
        """Raise the ccxt class for a refusal: by the venue's error code first, then by status.
        A body that is not the venue's JSON (a proxy's page) is judged by the status alone."""
        error = response.get("error") if isinstance(response, dict) else None
        venue_code = error.get("code") if isinstance(error, dict) else None
        if code < 400 and venue_code is None:
            return None
        cls = error_class(code, venue_code)
        if cls is None:
            return None
        message = error.get("message") if isinstance(error, dict) else body
        raise cls(f"{self.id} {method} {url} {code} {venue_code or reason}: {message}")

    def _public(self, path: str, params: dict | None = None) -> Any:
        return self.request(path, "public", "GET", params or {})

    def _private(self, path: str, method: str = "GET", params: dict | None = None) -> Any:
        return self.request(path, "private", method, params or {})

    def _pages(self, path: str, params: dict, since: int | None, limit: int | None) -> list[dict]:
        """A cursor-paginated list as one list of at most ``limit`` items (all without one).

        The venue pages newest first, or oldest first from ``since``: either way the first
        ``limit`` items it gives are the ones ccxt means (the latest ``limit``, or the first
        ``limit`` from ``since``), so paging stops there."""
        page_size = min(self.safe_integer(self.options, "pageSize", PAGE_MAX), PAGE_MAX)
        query = dict(params)
        query["limit"] = min(limit or page_size, page_size)
        if since is not None:
            query["since"] = since
        items: list[dict] = []
        while True:
            page = self._private(path, "GET", query)
            results = page.get("results") if isinstance(page, dict) else None
            if not isinstance(results, list):
                raise BadResponse(self.id + " " + path + ": expected a page with results")
            items.extend(results)
            if limit is not None and len(items) >= limit:
                return items[:limit]
            cursor = parse_qs(urlsplit(page.get("next") or "").query).get("cursor")
            if not cursor or not results:
                return items
            query["cursor"] = cursor[0]
