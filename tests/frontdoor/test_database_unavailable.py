"""A web process whose database is unreachable answers 503 with Retry-After (JSON under /api/,
a short page elsewhere), never a 500."""
import httpx
import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_no_database_means_503_not_500(start_web, trader_key):
    web = start_web(DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere", DATABASE_POOL_TIMEOUT="0.5")
    with httpx.Client(base_url=web.url, timeout=30) as client:
        api = client.get("/api/v1/balances", headers=trader_key.headers("GET", "/api/v1/balances"))
        page = client.get("/")
    assert api.status_code == 503
    assert api.json()["error"]["code"] == "database_unavailable"
    assert api.headers["Retry-After"] == "1"
    assert page.status_code == 503
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Retry-After"] == "1"
