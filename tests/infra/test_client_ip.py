"""The client's address behind proxies: X-Forwarded-For is believed only from TRUSTED_PROXIES,
and then its rightmost untrusted hop is the client; rate limits, the audit log, login lockouts
and API-key IP allow-lists (REST and WebSocket) all use that one address, through real Daphne."""
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from django.test import RequestFactory

from exchange.infra.net import client_ip, client_ip_from_scope, resolve
from tests.conftest import PASSWORD


def _client_addr(prefix: str = "198.51.100") -> str:
    """A fresh documentation address per test run, so Redis counters never carry over."""
    return f"{prefix}.{uuid.uuid4().int % 250 + 1}"


# ------------------------------------------------------------------ the rule itself

def test_nobody_is_trusted_by_default(settings):
    settings.TRUSTED_PROXIES = []
    assert resolve("203.0.113.9", ["1.2.3.4"]) == "203.0.113.9"


def test_a_spoofed_header_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert resolve("203.0.113.9", ["1.2.3.4"]) == "203.0.113.9"


def test_from_a_trusted_peer_the_rightmost_untrusted_hop_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.10"]
    # The client wrote "6.6.6.6" itself; the edge proxy appended the real peer; an inner proxy
    # appended the edge proxy.
    assert resolve("10.1.2.3", ["6.6.6.6, 203.0.113.50, 192.0.2.10"]) == "203.0.113.50"
    # Several header lines are one list, in order.
    assert resolve("10.1.2.3", ["6.6.6.6", "203.0.113.50, 10.9.9.9"]) == "203.0.113.50"
    # Only trusted hops: the request came from inside; the leftmost is the best we know.
    assert resolve("10.1.2.3", ["10.4.4.4, 10.5.5.5"]) == "10.4.4.4"
    # No header: the proxy itself.
    assert resolve("10.1.2.3", []) == "10.1.2.3"


def test_garbage_in_the_chain_stops_the_walk(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert resolve("10.1.2.3", ["203.0.113.5, not-an-ip, 10.2.2.2"]) == "10.2.2.2"


def test_ports_brackets_and_mapped_addresses(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1", "::1"]
    assert resolve("127.0.0.1", ["203.0.113.5:51234"]) == "203.0.113.5"
    assert resolve("::1", ["[2001:db8::7]:443"]) == "2001:db8::7"
    assert resolve("::ffff:127.0.0.1", ["2001:db8::8"]) == "2001:db8::8"
    assert resolve("::ffff:203.0.113.9", []) == "203.0.113.9"
    assert resolve(None, ["203.0.113.5"]) is None


def test_requests_and_scopes_read_the_same_way(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.77")
    scope = {"type": "websocket", "client": ["127.0.0.1", 40000],
             "headers": [(b"host", b"x"), (b"x-forwarded-for", b"6.6.6.6, 203.0.113.77")]}
    assert client_ip(request) == client_ip_from_scope(scope) == "203.0.113.77"
    settings.TRUSTED_PROXIES = []
    assert client_ip(request) == client_ip_from_scope(scope) == "127.0.0.1"


# ------------------------------------------------------------------ through real Daphne

def get(url: str, headers: dict | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.django_db(transaction=True)
def test_per_ip_rate_limit_buckets_follow_the_client_behind_a_trusted_proxy(start_web):
    limits = {"EXCHANGE_RATE_LIMIT_IP_PER_MIN": "3", "EXCHANGE_RATE_LIMIT_WINDOW_S": "60"}
    proxied = start_web(TRUSTED_PROXIES="127.0.0.1", **limits)
    while time.time() % 60 > 50:  # keep the burst inside one fixed window
        time.sleep(0.5)
    first, second = _client_addr(), _client_addr("203.0.113")
    statuses = [get(proxied.url + "/api/v1/markets", {"X-Forwarded-For": first}) for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Another client behind the same proxy has a bucket of its own.
    assert get(proxied.url + "/api/v1/markets", {"X-Forwarded-For": second}) == 200


@pytest.mark.django_db(transaction=True)
def test_a_spoofed_header_does_not_buy_a_fresh_bucket(start_web):
    direct = start_web(EXCHANGE_RATE_LIMIT_IP_PER_MIN="3", EXCHANGE_RATE_LIMIT_WINDOW_S="60")
    while time.time() % 60 > 50:
        time.sleep(0.5)
    import redis
    from django.conf import settings

    # Every other test's Daphne also counts as 127.0.0.1: start this bucket from zero.
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("rl:ip:127.0.0.1:*"):
        client.delete(key)
    statuses = [get(direct.url + "/api/v1/markets", {"X-Forwarded-For": _client_addr()}) for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


class Browser:
    """Logs in through the real login form (CSRF token and cookies included)."""

    def __init__(self, base: str, forwarded_for: str) -> None:
        self.base, self.forwarded_for = base, forwarded_for
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect())

    def _open(self, request: urllib.request.Request):
        request.add_header("X-Forwarded-For", self.forwarded_for)
        try:
            response = self.opener.open(request, timeout=10)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        with response:
            return response.status, response.read().decode(errors="replace")

    def login(self, username: str, password: str) -> int:
        _, page = self._open(urllib.request.Request(self.base + "/accounts/login/"))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password}).encode()
        status, _ = self._open(urllib.request.Request(self.base + "/accounts/login/", data=body, method="POST"))
        return status


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.django_db(transaction=True)
def test_login_lockout_and_audit_log_see_the_client_not_the_proxy(start_web, make_user):
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from exchange.audit.models import LoginRecord

    victim = make_user("victim")
    # The tests hash with MD5 for speed; Daphne runs with the real hashers.
    hasher = PBKDF2PasswordHasher()
    victim.password = hasher.encode(PASSWORD, hasher.salt())
    victim.save(update_fields=["password"])
    server = start_web(TRUSTED_PROXIES="127.0.0.1", EXCHANGE_LOGIN_FAILURE_LIMIT="5")
    attacker, owner = _client_addr(), _client_addr("203.0.113")
    guesser = Browser(server.url, f"6.6.6.6, {attacker}")
    statuses = [guesser.login("victim", "wrong-password") for _ in range(6)]
    assert statuses[:4] == [200] * 4  # the form again, with its errors
    assert statuses[4:] == [429, 429]  # the fifth failure locks this username from this address
    assert Browser(server.url, attacker).login("victim", PASSWORD) == 429
    # The owner, behind the same proxy, is not locked out by someone else's guesses.
    assert Browser(server.url, owner).login("victim", PASSWORD) == 302
    failed = set(LoginRecord.objects.filter(username="victim", succeeded=False).values_list("ip", flat=True))
    assert failed == {attacker}
    assert set(LoginRecord.objects.filter(username="victim", succeeded=True).values_list("ip", flat=True)) == {owner}


@pytest.mark.django_db(transaction=True)
def test_websocket_api_key_allow_list_uses_the_client_behind_a_trusted_proxy(start_web, make_user):
    from websockets.sync.client import connect

    from exchange.accounts.services import api_key_create
    from exchange.marketdata.auth import ws_signature

    client_addr = _client_addr()
    key, secret = api_key_create(user=make_user(), scopes=["read"], allowed_ips=[client_addr])
    proxied = start_web(TRUSTED_PROXIES="127.0.0.1")
    direct = start_web()

    def auth(server) -> dict:
        ws_url = server.url.replace("http://", "ws://") + "/ws/user/"
        with connect(ws_url, origin=server.url, additional_headers={"X-Forwarded-For": client_addr},
                     open_timeout=10) as socket:
            timestamp = str(int(time.time() * 1000))
            socket.send(json.dumps({"type": "auth", "key": key.key, "timestamp": timestamp,
                                    "signature": ws_signature(secret, timestamp)}))
            return json.loads(socket.recv(timeout=10))

    assert auth(proxied)["type"] == "subscribed"
    # Straight to Daphne, the same header is the client's own claim: not believed.
    refused = auth(direct)
    assert refused["type"] == "error"
    assert refused["code"] == "ip_not_allowed"
