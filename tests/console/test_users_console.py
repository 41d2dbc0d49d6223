"""Users from the console: search, the user page, freeze and unfreeze, KYC level, API keys.
(Freezing with a running matcher, orders cancelled and holds released: test_engine_console.)"""
import pytest

from exchange.accounts.models import ApiKey, Profile
from exchange.accounts.services import api_key_create
from exchange.errors import ExchangeError
from exchange.trading.models import Command
from exchange.trading.services import order_place

PASSWORD = "correct-horse-battery-42"


def test_search_by_name_email_or_id(admin_client, make_user):
    paula = make_user("paula")
    make_user("quentin")
    names = lambda q: [u.username for u in admin_client.get("/console/users/", {"q": q}).context["users"]]  # noqa: E731
    assert names("paul") == ["paula"]
    assert names("quentin@example") == ["quentin"]
    assert names(str(paula.pk)) == ["paula"]


def test_user_page_shows_profile_balances_orders_ledger_logins_and_keys(admin_client, market, make_user, client):
    user = make_user("rita", USD="1000")
    order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1")
    api_key_create(user=user, scopes=["read"], label="bot")
    client.post("/accounts/login/", {"username": "rita", "password": PASSWORD}, REMOTE_ADDR="192.0.2.44")
    page = admin_client.get(f"/console/users/{user.pk}/")
    assert page.status_code == 200
    assert page.context["subject"] == user
    assert [b.asset.symbol for b in page.context["balances"]] == ["USD"]
    assert len(page.context["open_orders"]) == 1
    assert {p.entry.kind for p in page.context["postings"]} == {"deposit", "hold"}
    assert [login.ip for login in page.context["logins"]] == ["192.0.2.44"]
    assert [k.label for k in page.context["api_keys"]] == ["bot"]
    assert b"192.0.2.44" in page.content
    assert admin_client.get("/console/users/999999/").status_code == 404


def test_freeze_queues_the_cancels_and_blocks_login_and_trading(admin_client, market, make_user, last_audit, client):
    user = make_user("sam", USD="1000")
    order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1")
    admin_client.post(f"/console/users/{user.pk}/freeze", {"reason": "AML case 31"})
    assert Profile.objects.get(user=user).status == "frozen"
    command = Command.objects.get(kind="cancel_user")
    assert command.payload == {"reason": "AML case 31", "user_id": user.pk}
    entry = last_audit("user.freeze")
    assert (entry.before, entry.after, entry.object_id) == ({"status": "active", "open_orders": 1}, {"status": "frozen"},
                                                            str(user.pk))
    with pytest.raises(ExchangeError) as info:
        order_place(user=user, market="BTC-USD", side="buy", price="100", quantity="1")
    assert (info.value.code, info.value.status) == ("account_frozen", 403)
    assert not client.login(username="sam", password=PASSWORD)

    admin_client.post(f"/console/users/{user.pk}/unfreeze", {"reason": "case closed"})
    assert Profile.objects.get(user=user).status == "active"
    assert last_audit("user.unfreeze").before == {"status": "frozen"}
    assert client.login(username="sam", password=PASSWORD)


def test_a_frozen_users_session_ends(admin_client, make_user):
    from django.test import Client

    user = make_user("tina")
    theirs = Client()
    theirs.login(username="tina", password=PASSWORD)
    assert theirs.get("/accounts/password/").status_code == 200
    admin_client.post(f"/console/users/{user.pk}/freeze", {"reason": "account takeover"})
    assert theirs.get("/accounts/password/").status_code == 302  # back to the login page


def test_kyc_level(admin_client, make_user, last_audit):
    user = make_user("uma")
    admin_client.post(f"/console/users/{user.pk}/kyc", {"level": "2", "reason": "passport checked"})
    assert Profile.objects.get(user=user).kyc_level == 2
    entry = last_audit("user.kyc_set")
    assert (entry.before, entry.after, entry.reason) == ({"kyc_level": 0}, {"kyc_level": 2}, "passport checked")
    admin_client.post(f"/console/users/{user.pk}/kyc", {"level": "7", "reason": "typo"})
    assert Profile.objects.get(user=user).kyc_level == 2


def test_revoke_an_api_key(admin_client, make_user, last_audit):
    user = make_user("vic")
    key, _ = api_key_create(user=user, scopes=["read", "trade"])
    admin_client.post(f"/console/users/{user.pk}/api-keys/{key.pk}/revoke", {"reason": "leaked on GitHub"})
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    entry = last_audit("user.api_key_revoke")
    assert entry.before["revoked_at"] is None
    assert entry.after["revoked_at"] is not None


def test_an_admin_cannot_freeze_themselves(admin_client, admin, last_audit):
    admin_client.post(f"/console/users/{admin.pk}/freeze", {"reason": "oops"})
    assert Profile.objects.get(user=admin).status == "active"
    assert last_audit() is None
