"""Surveillance fixtures that need Django: reviewers per role, and a journal written by hand."""
from datetime import datetime

import pytest
from django.test import Client

PASSWORD = "correct-horse-battery-42"


@pytest.fixture(autouse=True)
def _empty_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _user(username: str, role: str, **extra):
    from exchange.accounts.services import user_create

    user = user_create(username=username, email=f"{username}@example.com", password=PASSWORD, role=role)
    for key, value in extra.items():
        setattr(user, key, value)
    if extra:
        user.save()
    return user


def _client(user) -> Client:
    """A client logged in with a session that has passed two-factor authentication, which staff
    need for surveillance: a confirmed TOTP device, and django-otp's device mark in the session."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    client = Client(REMOTE_ADDR="203.0.113.9")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def reviewer(db):
    return _user("carol_compliance", "compliance")


@pytest.fixture
def senior(db):
    return _user("sam_senior", "compliance")


@pytest.fixture
def reviewer_client(reviewer) -> Client:
    return _client(reviewer)


@pytest.fixture
def clients(db):
    """A logged-in client per kind of visitor that is not a compliance reviewer."""
    return {
        "trader": _client(_user("dave_trader", "trader")),
        "admin": _client(_user("alice_admin", "admin")),
    }


@pytest.fixture
def superuser_client(db) -> Client:
    return _client(_user("root_super", "trader", is_superuser=True, is_staff=True))


@pytest.fixture
def write_journal(market):
    """``write_journal(tape.events)``: the tape's events as committed journal rows of ``market``
    (``account`` events are not journal rows: the journal names accounts by user id)."""
    from exchange.trading.models import JournalEvent

    def write(events, *, offset: int = 0) -> int:
        rows = []
        for event in events:
            if event["type"] == "account":
                continue
            payload = {k: v for k, v in event.items() if k not in ("seq", "ts", "market", "type")}
            rows.append(JournalEvent(market=market, sequence=event["seq"] + offset, event_type=event["type"],
                                     payload=payload, hash="0" * 64, created_at=datetime.fromisoformat(event["ts"])))
        JournalEvent.objects.bulk_create(rows)
        return rows[-1].sequence if rows else 0

    return write
