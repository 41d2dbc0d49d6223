"""Hostile input to every endpoint, through a real Daphne with DEBUG off: no 5xx, nothing slower
than 5 s, and every error under ``/api/`` in the API's JSON shape.

The endpoints are not listed here: the API routes come from the URL resolver (a new endpoint is
covered the day it is added), each called anonymously, with a correctly signed API key (the
signature covers the hostile request exactly as sent, so it gets past authentication) and with a
browser session. The pages' forms are found by reading every page as an admin who has passed
two-factor authentication; every field name found anywhere is then posted, with each hostile
value, to every page route.

schemathesis (test_fuzz_schema.py) checks the API against its own schema with plausible input;
this test is about input no schema allows.
"""
import json
import re
import time
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import quote, urlencode

import pytest
import requests
from django.urls import URLPattern, URLResolver, get_resolver

from exchange.accounts.services import api_key_create
from exchange.api.signing import signature
from tests.api.production import api_error, browser, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

SLOW = 5.0
HUGE = 5_000_000
NUMBERS = ["1e999999999", "-1e999999999", "1e-999999999", "-0", "NaN", "Infinity", "9" * 400, "9" * 5000]
TEXTS = ["\x00", "BTC\x00-USD", "\u00e9\u00ff\ufffd", "A" * 10_000]
QUERY_PARAMS = ["market", "asset", "symbol", "status", "limit", "before", "after", "cursor", "levels", "interval",
                "start", "end", "page", "q", "next"]
BODY_FIELDS = ["market", "side", "type", "price", "quantity", "quote_amount", "stop_price", "time_in_force",
               "post_only", "client_order_id", "stp", "asset", "amount", "orders"]
# Form posts that would end the admin's own session (the rest of the crawl needs it).
SKIP_PAGES = ("accounts/logout/", "account/sessions/end-others/", "admin/", "static/", "favicon.ico")


def routes(patterns=None, prefix: str = "") -> list[tuple[str, object]]:
    """Every (route, view) the URL resolver knows."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            found += routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            found.append((prefix + str(pattern.pattern), pattern.callback))
    return found


def concrete(route: str, values: dict[str, str]) -> str:
    """The route with each ``<conv:name>`` replaced by a plausible value."""
    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: values.get(m.group(1) or "str", "1"), route)


def methods_of(view) -> list[str]:
    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    if cls is None:
        return ["GET", "POST"]
    return [m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)] or ["GET"]


def hostile_bodies() -> list[tuple[str, bytes, str]]:
    """(label, body, content type): what no endpoint may answer with a 500."""
    bodies = [
        ("nested", b"[" * 100_000, "application/json"),
        ("nested-objects", b'{"a":' * 50_000, "application/json"),
        ("huge", b'{"market": "' + b"A" * HUGE + b'"}', "application/json"),
        ("not-utf8", b'{"market": "\xff\xfe\x00"}', "application/json"),
        ("nan", b'{"price": NaN, "quantity": Infinity, "amount": -Infinity}', "application/json"),
        ("big-int", b'{"price": ' + b"9" * 5000 + b', "quantity": 1e999999999}', "application/json"),
        ("nul-escape", b'{"market": "BTC\\u0000-USD", "asset": "\\u0000"}', "application/json"),
        ("multipart", b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\xff\r\n--", "multipart/form-data; boundary=x"),
        ("form", b"market=%00&price=1e999999999&quantity=%FF", "application/x-www-form-urlencoded"),
        ("text", b"hello \x00 \xff", "text/plain"),
        ("scalar", b'"just a string"', "application/json"),
        ("array", b"[1, 2, 3]", "application/json"),
    ]
    for value in [[], {}, True, None, 1.5, 10**40, "1e999999999", "-0", "NaN", "\x00"]:
        bodies.append((f"types-{value!r}"[:40], json.dumps(dict.fromkeys(BODY_FIELDS, value)).encode(),
                       "application/json"))
    bodies.append(("batch", json.dumps({"orders": [dict.fromkeys(BODY_FIELDS, "1e999999999")] * 3}).encode(),
                   "application/json"))
    return bodies


def hostile_queries() -> list[str]:
    queries = ["%FF%FE=%FF", "x=%00", "x=" + "A" * 6000]
    for value in NUMBERS + TEXTS[:3] + ["[]", "{}", "true"]:
        # Long values in one parameter: a request line past 16 KB is refused by Twisted, below the app.
        queries.append(urlencode(dict.fromkeys(QUERY_PARAMS if len(value) < 500 else ["limit"], value)))
    return queries


class Recorder:
    """Sends requests and keeps what went wrong; the test fails with the whole list at once."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.problems: list[str] = []
        self.count = 0

    def send(self, session: requests.Session, method: str, path: str, body: bytes = b"", content_type: str = "",
             headers: dict | None = None, signer=None) -> None:
        headers = dict(headers or {})
        if content_type:
            headers["Content-Type"] = content_type
        if signer is not None:
            headers.update(signer(method, path, body))
        started = time.monotonic()
        try:
            response = session.request(method, self.base_url + path, data=body, headers=headers, timeout=SLOW + 5,
                                       allow_redirects=False)
        except requests.RequestException as exc:
            self.problems.append(f"{method} {path[:80]} {len(body)}B: no answer ({type(exc).__name__})")
            return
        elapsed = time.monotonic() - started
        self.count += 1
        what = f"{method} {path[:80]} {body[:40]!r} -> {response.status_code}"
        if response.status_code >= 500:
            self.problems.append(f"{what}: {response.text[:120]!r}")
        if elapsed > SLOW:
            self.problems.append(f"{what}: took {elapsed:.1f} s")
        if path.startswith("/api/") and response.status_code >= 400:
            try:
                api_error(response)
            except AssertionError as exc:
                self.problems.append(f"{what}: not the API's error shape: {str(exc)[:150]}")


class FormFields(HTMLParser):
    """The names of every form field on a page, and the page's CSRF token."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.csrf = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select", "textarea") and attrs.get("name"):
            if attrs["name"] == "csrfmiddlewaretoken":
                self.csrf = attrs.get("value") or self.csrf
            else:
                self.names.add(attrs["name"])


@pytest.fixture
def world(production_web, market, make_user):
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from exchange.accounts.services import user_create

    trader = make_user(USD="100000", BTC="10")
    api_key, secret = api_key_create(user=trader, scopes=["read", "trade"])
    admin = user_create(username="fuzz_admin", email="fuzz_admin@example.com", password="A-long-pass-phrase-9",
                        role="admin")
    device = TOTPDevice.objects.create(user=admin, name="default", confirmed=True)
    from django.contrib.sessions.backends.db import SessionStore

    cookie = session_cookie(admin)
    store = SessionStore(session_key=cookie)
    store[DEVICE_ID_SESSION_KEY] = device.persistent_id
    store.save()
    admin_session = requests.Session()
    admin_session.cookies.set("sessionid", cookie)
    admin_session.get(production_web.url + "/markets/", timeout=10)
    admin_session.headers["X-CSRFToken"] = admin_session.cookies.get("csrftoken", "")

    def signer(method: str, path: str, body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time() * 1000))
        return {"X-API-KEY": api_key.key, "X-API-TIMESTAMP": timestamp,
                "X-API-SIGNATURE": signature(secret, timestamp, method, path, body)}

    return SimpleNamespace(web=production_web, trader=trader, signer=signer, admin=admin_session,
                           trader_session=browser(production_web, trader),
                           values={"str": "BTC-USD", "int": str(trader.pk), "path": "x"})


def test_every_api_endpoint_survives_hostile_input(world):
    record = Recorder(world.web.url)
    anonymous = requests.Session()
    endpoints = [(route, view) for route, view in routes() if route.startswith("api/")]
    assert len(endpoints) >= 10, endpoints  # the resolver walk found the API
    bodies, queries = hostile_bodies(), hostile_queries()
    for route, view in endpoints:
        path = concrete(route, world.values)
        hostile_paths = {concrete(route, {"str": text, "int": text, "path": text}) for text in
                         [quote(t, safe="") for t in TEXTS] + ["%FF", "9" * 400]} - {path}
        for method in [*methods_of(view), "PUT"]:
            for who, session, signer in [("anonymous", anonymous, None), ("key", anonymous, world.signer),
                                         ("session", world.trader_session, None)]:
                for query in queries:
                    record.send(session, method, f"{path}?{query}", signer=signer)
                for other in hostile_paths:
                    record.send(session, method, other, signer=signer)
                if method in ("POST", "PUT", "PATCH", "DELETE"):
                    for label, body, content_type in bodies:
                        if label == "huge" and who != "key":
                            continue  # once per endpoint is enough to prove the limit
                        record.send(session, method, path, body, content_type, signer=signer)
        for header, value in [("X-API-KEY", "\u00e9" * 40), ("X-API-TIMESTAMP", "1" * 5000),
                              ("X-API-SIGNATURE", "\u00ff" * 64), ("X-API-KEY", "k" * 5000)]:
            record.send(anonymous, "GET", path, headers={"X-API-KEY": "x" * 32, "X-API-TIMESTAMP": "1",
                                                         "X-API-SIGNATURE": "a" * 64, header: value})
    assert not record.problems, "\n".join(record.problems[:40])
    assert record.count > 1000


def test_every_page_and_form_survives_hostile_input(world):
    record = Recorder(world.web.url)
    pages = [(route, view) for route, view in routes()
             if not route.startswith(("api/", *SKIP_PAGES)) and route != "metrics"]
    fields: set[str] = set()
    for route, _ in pages:
        response = world.admin.get(world.web.url + concrete(route, world.values), timeout=10, allow_redirects=False)
        assert response.status_code < 500, (route, response.status_code)
        parser = FormFields()
        parser.feed(response.text if "html" in response.headers.get("Content-Type", "") else "")
        fields |= parser.names
    # The crawl reached the console, the API-key page, the wallet and the password form.
    assert {"reason", "tick_size", "allowed_ips", "withdraw-amount", "new_password1"} <= fields, sorted(fields)
    fields |= set(BODY_FIELDS)
    for route, _ in pages:
        path = concrete(route, world.values)
        for value in NUMBERS[:6] + TEXTS + [["a", "b"]]:
            data = dict.fromkeys(sorted(fields), value)
            record.send(world.admin, "POST", path, urlencode(data, doseq=True).encode(),
                        "application/x-www-form-urlencoded")
        record.send(world.admin, "POST", path, b"reason=%FF%FE&amount=\xff\x00", "application/x-www-form-urlencoded")
        record.send(world.admin, "POST", path, b"--x\r\ngarbage", "multipart/form-data; boundary=x")
        record.send(world.admin, "POST", path, b"A" * HUGE, "application/x-www-form-urlencoded")
        for query in hostile_queries()[:8]:
            record.send(world.admin, "GET", f"{path}?{query}")
        for text in ["%00", "%FF", "9" * 400]:
            if "<" in route:
                record.send(world.admin, "GET", concrete(route, {"str": text, "int": text, "path": text}))
    visitor = requests.Session()  # signed out, with a CSRF cookie as a browser has one
    visitor.get(world.web.url + "/accounts/login/", timeout=10)
    visitor.headers["X-CSRFToken"] = visitor.cookies.get("csrftoken", "")
    for path in ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]:
        for value in NUMBERS[:4] + TEXTS:
            record.send(visitor, "POST", path, urlencode({"username": value, "password": value, "email": value,
                                                          "password1": value, "password2": value}).encode(),
                        "application/x-www-form-urlencoded")
    assert not record.problems, "\n".join(record.problems[:40])
