"""Console fixtures: one user per role, each with a logged-in test client."""
import pytest
from django.test import Client

PASSWORD = "correct-horse-battery-42"


@pytest.fixture(autouse=True)
def _empty_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _user(username: str, role: str):
    from exchange.accounts.services import user_create

    return user_create(username=username, email=f"{username}@example.com", password=PASSWORD, role=role)


@pytest.fixture
def admin(db):
    return _user("alice_admin", "admin")


@pytest.fixture
def admin2(db):
    return _user("bob_admin", "admin")


@pytest.fixture
def compliance(db):
    return _user("carol_compliance", "compliance")


@pytest.fixture
def trader(db):
    return _user("dave_trader", "trader")


def _client(user) -> Client:
    client = Client(REMOTE_ADDR="203.0.113.7")
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin) -> Client:
    return _client(admin)


@pytest.fixture
def admin2_client(admin2) -> Client:
    return _client(admin2)


@pytest.fixture
def compliance_client(compliance) -> Client:
    return _client(compliance)


@pytest.fixture
def trader_client(trader) -> Client:
    return _client(trader)


@pytest.fixture
def last_audit():
    """The newest audit entry of a console or admin action, optionally of one action (security
    events such as the test's own logins are audited too, and are not what these tests check)."""
    from exchange.audit.models import AuditEntry

    def get(action: str | None = None):
        entries = AuditEntry.objects.exclude(action__startswith="security.")
        if action:
            entries = entries.filter(action=action)
        return entries.order_by("-id").first()

    return get


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def private_redis(settings):
    """A Redis database of this test folder's own (the shared test databases 8 and 9 may be
    in use by other test runs), empty at the start; the app's settings point at it."""
    import os

    import redis

    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    url = f"{base}/13"
    redis.Redis.from_url(url).flushdb()
    settings.REDIS_URL = url
    return url
