"""Two-factor authentication through a real Daphne (issue 20, items 2, 3 and 8): the password
alone gives no session with two-factor on, staff need two-factor for the console, surveillance
and the Django admin, a session alone cannot move the second factor to another phone, security
changes lock withdrawals, and a bad API-key form does not burn the code."""
from decimal import Decimal

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from exchange.accounts.models import ApiKey, Profile, SecurityEvent
from exchange.accounts.roles import ADMIN
from exchange.accounts.security import recovery_codes_issue
from exchange.accounts.services import user_create
from exchange.ledger.models import Withdrawal
from tests.accounts.webclient import PASSWORD, WebClient, code, server_password

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web(start_web, market):
    return start_web(EXCHANGE_REFERENCE_PRICES="BTC=60000")


def with_2fa(user) -> tuple[TOTPDevice, list[str]]:
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return device, recovery_codes_issue(user=user)


def signed_in(client: WebClient) -> bool:
    return client.get("/account/").status_code == 200


def test_the_password_alone_gives_no_session_when_two_factor_is_on(web, make_user):
    user = server_password(make_user("ana", USD="1000"))
    device, _ = with_2fa(user)
    client = WebClient(web.url)

    response = client.login("ana")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/verify/")
    # Half-way: nothing works as ana: pages, the private API, the private socket, 2FA setup.
    assert client.get("/account/").status_code == 302
    assert 'id="order-form"' not in client.get("/trade/BTC-USD/").text
    assert client.get("/api/v1/orders").status_code == 401
    assert client.get("/api/v1/balances").status_code == 401
    assert client.ws_user_first_message()["code"] == "not_authenticated"
    client.post("/accounts/security/", {"action": "start"})
    assert not TOTPDevice.objects.filter(user=user, confirmed=False).exists()

    wrong = client.post("/accounts/login/verify/", {"token": "000000"})
    assert wrong.status_code == 400
    assert not signed_in(client)
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)

    done = client.post("/accounts/login/verify/", {"token": code(device), "next": "/wallet/"})
    assert (done.status_code, done.headers["Location"]) == (302, "/wallet/")
    assert signed_in(client)
    assert client.get("/api/v1/balances").status_code == 200
    assert 'id="order-form"' in client.get("/trade/BTC-USD/").text
    assert client.ws_user_first_message()["type"] == "subscribed"
    kinds = set(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert {"login", "login_otp_failed"} <= kinds


def test_a_recovery_code_logs_in_once(web, make_user):
    user = server_password(make_user("bo"))
    _, codes = with_2fa(user)
    first = WebClient(web.url)
    first.login("bo")
    assert first.post("/accounts/login/verify/", {"token": codes[0].upper()}).status_code == 302
    assert signed_in(first)
    assert SecurityEvent.objects.filter(user=user, kind="recovery_code_used").count() == 1

    again = WebClient(web.url)
    again.login("bo")
    assert again.post("/accounts/login/verify/", {"token": codes[0]}).status_code == 400
    assert not signed_in(again)


def test_staff_must_enrol_and_pass_two_factor_for_console_surveillance_and_admin(web, db):
    staff = server_password(user_create(username="root", email="root@example.com", password=PASSWORD, role=ADMIN))
    client = WebClient(web.url)
    assert client.login("root").status_code == 302
    assert signed_in(client)  # a trader's pages are fine without two-factor
    for path in ("/console/", "/surveillance/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/accounts/security/"), path

    client.post("/accounts/security/", {"action": "start"})
    pending = TOTPDevice.objects.get(user=staff, confirmed=False)
    enrolled = client.post("/accounts/security/", {"action": "confirm", "token": code(pending)})
    assert enrolled.status_code == 200
    assert enrolled.text.count("<li><code>") == 10  # the recovery codes, shown once
    for path in ("/console/", "/surveillance/", "/admin/"):  # (surveillance is compliance's: 403 to an admin)
        assert client.get(path).status_code == (403 if path == "/surveillance/" else 200), path

    # Another browser: the password alone reaches none of them, nor does the admin's own login.
    other = WebClient(web.url)
    other.login("root")
    for path in ("/console/", "/surveillance/", "/admin/"):
        assert other.get(path).status_code == 302, path
        assert other.get(path).headers["Location"].startswith(("/accounts/login/", "/admin/login/")), path
    admin_login = other.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert admin_login.headers["Location"].startswith("/accounts/login/")
    assert other.get("/admin/").status_code == 302
    other.post("/accounts/login/verify/", {"token": code(TOTPDevice.objects.get(user=staff), 1)})
    assert other.get("/console/").status_code == 200


def test_a_stolen_password_cannot_re_enrol_two_factor_nor_mint_a_withdraw_key(web, make_user):
    owner = server_password(make_user("cy", BTC="1"))
    device, codes = with_2fa(owner)
    attacker = WebClient(web.url)
    attacker.login("cy")
    attacker.post("/accounts/security/", {"action": "start"})
    attacker.post("/accounts/security/", {"action": "confirm", "token": "123456"})
    attacker.post("/accounts/api-keys/", {"action": "create", "scopes": ["withdraw"], "otp_token": "123456"})
    assert list(TOTPDevice.objects.filter(user=owner)) == [device]
    assert not ApiKey.objects.filter(user=owner).exists()

    # Even a verified session must show the current code to replace the authenticator.
    session = WebClient(web.url)
    session.login("cy")
    session.post("/accounts/login/verify/", {"token": code(device)})
    refused = session.post("/accounts/security/", {"action": "start"})
    assert refused.status_code == 403 or refused.status_code == 400
    assert not TOTPDevice.objects.filter(user=owner, confirmed=False).exists()
    session.post("/accounts/security/", {"action": "start", "current_token": codes[1]})
    new = TOTPDevice.objects.get(user=owner, confirmed=False)
    assert session.post("/accounts/security/", {"action": "confirm", "token": code(new)}).status_code == 200
    assert list(TOTPDevice.objects.filter(user=owner)) == [new]
    assert SecurityEvent.objects.filter(user=owner, kind="2fa_changed").exists()
    assert Profile.objects.get(user=owner).withdrawals_locked_until is not None


def withdraw(client: WebClient, otp: str):
    return client.post("/wallet/", {"action": "withdraw", "withdraw-asset": "BTC", "withdraw-amount": "0.1",
                                    "withdraw-address": "bc1qexample", "withdraw-otp_token": otp})


def test_security_changes_lock_withdrawals_for_a_day(web, make_user):
    user = server_password(make_user("dee", BTC="1"))
    Profile.objects.filter(user=user).update(kyc_level=2)
    client = WebClient(web.url)
    client.login("dee")
    client.post("/accounts/security/", {"action": "start"})
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    client.post("/accounts/security/", {"action": "confirm", "token": code(device)})
    until = Profile.objects.get(user=user).withdrawals_locked_until
    assert until is not None

    refused = withdraw(client, code(device, 1))
    assert refused.status_code == 400
    assert "withdrawals are locked until" in refused.text
    assert "Withdrawals are locked until" in client.get("/account/").text
    assert not Withdrawal.objects.exists()

    # A day later (the stored end of the lock moved into the past), the same code works: the lock
    # was checked before the code, which was therefore not used up.
    Profile.objects.filter(user=user).update(withdrawals_locked_until=until.replace(year=2000))
    assert withdraw(client, code(device, 1)).status_code == 302
    assert Withdrawal.objects.get().amount == Decimal("0.1")

    created = client.post("/accounts/api-keys/", {"action": "create", "scopes": ["read", "withdraw"],
                                                  "otp_token": code(device, 2)})
    assert created.status_code == 200
    assert ApiKey.objects.get(user=user).scopes == ["read", "withdraw"]
    assert withdraw(client, code(device, 3)).status_code == 400
    assert Withdrawal.objects.count() == 1


def test_a_bad_address_on_the_api_key_form_is_a_400_and_keeps_the_code(web, make_user):
    user = server_password(make_user("eve"))
    device, _ = with_2fa(user)
    client = WebClient(web.url)
    client.login("eve")
    client.post("/accounts/login/verify/", {"token": code(device)})
    otp = code(device, 1)
    bad = client.post("/accounts/api-keys/", {"action": "create", "scopes": ["read"], "allowed_ips": "not-an-ip",
                                              "otp_token": otp})
    assert bad.status_code == 400
    assert "is not an IP address" in bad.text
    assert not ApiKey.objects.exists()
    good = client.post("/accounts/api-keys/", {"action": "create", "scopes": ["read"],
                                               "allowed_ips": "203.0.113.5, 2001:db8::1", "otp_token": otp})
    assert good.status_code == 200
    assert ApiKey.objects.get().allowed_ips == ["203.0.113.5", "2001:db8::1"]
