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
def admin3(db):
    return _user("cleo_admin", "admin")


@pytest.fixture
def compliance(db):
    return _user("carol_compliance", "compliance")


@pytest.fixture
def trader(db):
    return _user("dave_trader", "trader")


def verified_login(client: Client, user) -> Client:
    """Log ``user`` in with a session that has passed two-factor authentication, as staff must
    have for the console: a confirmed TOTP device, and django-otp's device mark in the session."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="default", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _client(user) -> Client:
    return verified_login(Client(REMOTE_ADDR="203.0.113.7"), user)


@pytest.fixture
def admin_client(admin) -> Client:
    return _client(admin)


@pytest.fixture
def admin2_client(admin2) -> Client:
    return _client(admin2)


@pytest.fixture
def admin3_client(admin3) -> Client:
    return _client(admin3)


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
    """This run's (or xdist worker's) own test Redis database, empty at the start; the app's
    settings point at it."""
    import os

    import redis

    from tests.conftest import TEST_REDIS_DB

    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    url = f"{base}/{TEST_REDIS_DB}"
    redis.Redis.from_url(url).flushdb()
    settings.REDIS_URL = url
    return url


@pytest.fixture
def kyc_level():
    """``kyc_level(user, 2)``: set a user's verification tier directly (what the console and
    ``set_kyc_level`` do, without their audit entry)."""
    from exchange.accounts.models import Profile
    from exchange.accounts.services import profile_for

    def set_level(user, level: int):
        profile_for(user)
        Profile.objects.filter(user=user).update(kyc_level=level)
        return user

    return set_level


def refusal_code(response) -> str:
    """The error code a refused console action answers with (its page names it)."""
    return response.context["code"]
