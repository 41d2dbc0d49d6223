"""/healthz and /readyz through real Daphne: cheap, no auth for the status, detail only with the
metrics token, 503 when not ready, and never redirected, host-checked or rate-limited."""
import json
import secrets
import urllib.error
import urllib.request

import pytest

from tests.conftest import wait_until
from tests.infra.conftest import production_settings

pytestmark = pytest.mark.django_db(transaction=True)


def fetch(url: str, headers: dict | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = body.decode(errors="replace")
        return error.code, dict(error.headers), parsed


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_healthz_answers_any_host_without_detail_and_is_not_rate_limited(start_web):
    server = start_web(EXCHANGE_RATE_LIMIT_IP_PER_MIN="1")
    for _ in range(3):
        # A probe connects by address: its Host is not one of ALLOWED_HOSTS.
        status, _, body = fetch(server.url + "/healthz", {"Host": "10.0.0.7:8000"})
        assert (status, body) == (200, {"status": "ok"})
        status, _, body = fetch(server.url + "/readyz", {"Host": "10.0.0.7:8000"})
        assert status in (200, 503)
        assert body["status"] in ("ok", "unavailable")


def test_readyz_needs_a_fresh_matcher_heartbeat_and_shows_detail_only_with_the_token(start_web, start_matcher, market):
    token = secrets.token_urlsafe(16)
    server = start_web(EXCHANGE_METRICS_TOKEN=token)
    status, headers, body = fetch(server.url + "/readyz")
    assert (status, body) == (503, {"status": "unavailable"})
    assert headers["Cache-Control"] == "no-store"
    status, _, body = fetch(server.url + "/readyz", {"Authorization": "Bearer wrong"})
    assert (status, body) == (503, {"status": "unavailable"})

    status, _, body = fetch(server.url + "/readyz", {"Authorization": f"Bearer {token}"})
    assert status == 503
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["redis"] == {"ok": True}
    assert body["checks"]["matchers"]["stale"] == ["BTC-USD"]
    assert body["checks"]["matchers"]["heartbeat_age"] == {"BTC-USD": None}

    start_matcher("BTC-USD")
    wait_until(lambda: fetch(server.url + "/readyz")[0] == 200, timeout=60, message="the matcher's heartbeat")
    status, _, body = fetch(server.url + "/readyz", {"Authorization": f"Bearer {token}"})
    assert status == 200
    assert body["status"] == "ok"
    assert body["checks"]["matchers"]["stale"] == []
    assert 0 <= body["checks"]["matchers"]["heartbeat_age"]["BTC-USD"] <= 15


def test_readyz_is_unavailable_without_redis(start_web):
    token = secrets.token_urlsafe(16)
    server = start_web(REDIS_URL="redis://127.0.0.1:1/0", EXCHANGE_METRICS_TOKEN=token)
    status, _, body = fetch(server.url + "/readyz", {"Authorization": f"Bearer {token}"})
    assert status == 503
    assert body["checks"]["redis"]["ok"] is False
    assert "ConnectionError" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"] == {"ok": True}
    assert fetch(server.url + "/healthz")[:3:2] == (200, {"status": "ok"})


def test_probes_are_exempt_from_the_https_redirect_in_production(start_web):
    server = start_web(**production_settings(DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost"))
    status, _, body = fetch(server.url + "/healthz", {"Host": "10.0.0.7"})
    assert (status, body) == (200, {"status": "ok"})
    assert fetch(server.url + "/readyz")[0] in (200, 503)
    # Everything else over plain HTTP goes to HTTPS.
    status, headers, _ = fetch(server.url + "/markets/")
    assert status == 301
    assert headers["Location"].startswith("https://")
