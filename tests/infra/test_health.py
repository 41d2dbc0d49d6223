"""/healthz and /readyz through real Daphne: cheap, no auth for the status, detail only with the
metrics token, 503 when not ready, and never redirected, host-checked or rate-limited."""
import json
import secrets
import time
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
            status, headers, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, dict(error.headers), error.read()
    try:
        return status, headers, json.loads(body)
    except ValueError:
        return status, headers, body.decode(errors="replace")


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


def test_liveness_is_answered_even_when_the_front_door_sheds(start_web):
    """A busy process sheds requests with 503, but /healthz still says it is alive (else an
    orchestrator would restart a healthy process for being busy)."""
    import socket
    import threading

    # A "Redis" that accepts connections and never answers: /readyz holds its place for a while.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        server = start_web(REDIS_URL=f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
                           EXCHANGE_MAX_INFLIGHT_REQUESTS="1", EXCHANGE_SHED_QUEUE_MS="0")
        assert fetch(server.url + "/accounts/login/")[0] == 200
        for _ in range(5):  # the held request must get in first; on a loaded machine, try again
            slow = threading.Thread(target=fetch, args=(server.url + "/readyz",))
            slow.start()
            time.sleep(0.3)
            # Shed before and after: the place was held all the while /healthz was asked.
            before = fetch(server.url + "/accounts/login/")[0] == 503
            healthz = fetch(server.url + "/healthz")
            shed = before and fetch(server.url + "/accounts/login/")[0] == 503
            slow.join(timeout=30)
            if shed:
                break
        assert shed, "the front door never shed: the test proves nothing"
        assert healthz[:3:2] == (200, {"status": "ok"})
    finally:
        silent.close()
