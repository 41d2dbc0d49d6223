"""A real Daphne configured as production (DEBUG off), for the tests of what a client sees when
things go wrong: with DEBUG off Django answers an unhandled error with its 500 page."""
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
API_SECRET_KEY = secrets.token_urlsafe(40)
SECRET_KEY = secrets.token_urlsafe(50)
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": SECRET_KEY, "EXCHANGE_API_SECRET_KEY": API_SECRET_KEY,
    "EXCHANGE_METRICS_TOKEN": secrets.token_urlsafe(24), "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_SECURE_COOKIES": "false",
}


def collect_static(root: Path) -> Path:
    """``collectstatic`` into ``root``: production pages name hashed static files from its manifest."""
    env = {**os.environ, **PRODUCTION_ENV, "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_STATIC_ROOT": str(root)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=120)
    return root


def redis_url_for_tests() -> str:
    """The Redis database the ``redis_url`` fixture hands every test (tests/conftest.py)."""
    from tests.conftest import TEST_REDIS_DB

    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0] + f"/{TEST_REDIS_DB}"


def start_production(start_web, settings, static_root: Path):
    """A Daphne of its own with DEBUG off; keys and sessions made by the test are readable by it."""
    settings.EXCHANGE_API_SECRET_KEY, settings.SECRET_KEY = API_SECRET_KEY, SECRET_KEY
    return start_web(**PRODUCTION_ENV, DJANGO_STATIC_ROOT=str(static_root))


def session_cookie(user) -> str:
    """A real session for ``user`` (signed with the server's SECRET_KEY)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def signed_headers(key: str, secret: str, method: str, path: str, body: bytes = b"",
                   timestamp: str | None = None) -> dict[str, str]:
    """The API-key headers for one request (``path`` with its query, exactly as sent)."""
    from exchange.api.signing import signature

    timestamp = timestamp or str(int(time.time() * 1000))
    return {"X-API-KEY": key, "X-API-TIMESTAMP": timestamp, "Content-Type": "application/json",
            "X-API-SIGNATURE": signature(secret, timestamp, method, path, body)}


def browser(web, user):
    """A ``requests`` session signed in as ``user`` with a CSRF cookie, as a browser would be."""
    import requests

    session = requests.Session()
    session.cookies.set("sessionid", session_cookie(user))
    session.get(web.url + "/markets/", timeout=10)
    assert session.get(web.url + "/api/v1/balances", timeout=10).status_code == 200  # signed in
    session.headers["X-CSRFToken"] = session.cookies.get("csrftoken", "")
    return session


def api_error(response) -> str:
    """The code of an ``{"error": {"code", "message"}}`` JSON body; fails on any other shape."""
    content_type = response.headers.get("Content-Type", "")
    assert content_type.startswith("application/json"), (response.status_code, content_type, response.text[:300])
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str), body
    assert isinstance(body["error"]["message"], str), body
    return body["error"]["code"]
