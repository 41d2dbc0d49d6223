"""Login lockout, two-factor authentication guarding API keys and withdrawals, and the CSP."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp

from exchange.accounts.models import ApiKey, Profile
from exchange.accounts.security import totp_device
from exchange.accounts.services import user_create
from exchange.errors import ExchangeError
from exchange.ledger.models import Withdrawal
from exchange.withdrawals.services import withdrawal_create

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-42"


def code(device, steps_ahead: int = 0) -> str:
    """The device's current code, or the next one: a code is accepted once (replay protection),
    and the verifier tolerates one step of clock drift."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead):06d}"


def test_repeated_failed_logins_lock_the_account(client, settings):
    settings.AXES_ENABLED = True
    user_create(username="lee", email="l@example.com", password=PASSWORD)
    statuses = [client.post(reverse("login"), {"username": "lee", "password": "wrong-password"}).status_code
                for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the fifth failure locks
    locked = client.post(reverse("login"), {"username": "lee", "password": PASSWORD})
    assert locked.status_code == 429  # even the right password, until the cool-off ends
    assert b"Too many failed logins" in locked.content
    assert "_auth_user_id" not in client.session


def enable_2fa(client, user) -> object:
    client.post(reverse("security"), {"action": "start"})
    device = totp_device(user, confirmed=False)
    assert device is not None
    response = client.post(reverse("security"), {"action": "confirm", "token": code(device)})
    assert response.status_code == 200
    assert len(response.context["recovery_codes"]) == 10  # shown once, on this page
    return totp_device(user)


def test_two_factor_setup_and_api_key_creation(client):
    user = user_create(username="mia", email="m@example.com", password=PASSWORD)
    client.force_login(user)
    page = client.get(reverse("security"))
    assert page.status_code == 200
    response = client.post(reverse("api_keys"), {"action": "create", "scopes": ["read"], "otp_token": "123456"})
    assert response.status_code == 400
    assert b"two-factor" in response.content
    assert not ApiKey.objects.exists()

    device = enable_2fa(client, user)
    created = client.post(reverse("api_keys"), {"action": "create", "scopes": ["read", "trade"], "otp_token": code(device, 1)})
    assert created.status_code == 200
    key = ApiKey.objects.get()
    assert key.scopes == ["read", "trade"]
    secret = created.context["created"][1]
    assert secret.encode() in created.content
    assert secret.encode() not in client.get(reverse("api_keys")).content  # shown once
    client.post(reverse("api_keys"), {"action": "revoke", "key_id": key.pk})
    key.refresh_from_db()
    assert key.revoked_at is not None
    # A wrong code creates nothing (and django-otp then throttles further tries on the device).
    wrong = client.post(reverse("api_keys"), {"action": "create", "scopes": ["read"], "otp_token": "000000"})
    assert wrong.status_code == 400
    assert ApiKey.objects.count() == 1


def test_a_user_cannot_revoke_someone_elses_key(client):
    owner = user_create(username="ned", email="n@example.com", password=PASSWORD)
    from exchange.accounts.services import api_key_create

    key, _ = api_key_create(user=owner, scopes=["read"])
    intruder = user_create(username="oli", email="o@example.com", password=PASSWORD)
    client.force_login(intruder)
    client.post(reverse("api_keys"), {"action": "revoke", "key_id": key.pk})
    key.refresh_from_db()
    assert key.revoked_at is None


def test_withdrawals_need_a_second_factor(client, make_user, assets, settings):
    settings.EXCHANGE_REFERENCE_PRICES = {"BTC": "60000"}  # for the KYC limit check
    user = make_user(BTC="1")
    Profile.objects.filter(user=user).update(kyc_level=2)  # a tier that may withdraw
    with pytest.raises(ExchangeError) as info:
        withdrawal_create(user=user, asset=assets["BTC"], amount="0.1", address="bc1q", second_factor=True,
                          otp_token="123456")
    assert info.value.code == "otp_setup_required"
    client.force_login(user)
    device = enable_2fa(client, user)
    with pytest.raises(ExchangeError) as info:  # turning two-factor on locks withdrawals for a while
        withdrawal_create(user=user, asset=assets["BTC"], amount="0.1", address="bc1q", second_factor=True,
                          otp_token=code(device, 1))
    assert info.value.code == "withdrawals_locked"
    Profile.objects.filter(user=user).update(withdrawals_locked_until=timezone.now() - timedelta(seconds=1))
    withdrawal_create(user=user, asset=assets["BTC"], amount="0.1", address="bc1q", second_factor=True,
                          otp_token=code(device, 1))
    assert Withdrawal.objects.count() == 1
    with pytest.raises(ExchangeError) as info:
        withdrawal_create(user=user, asset=assets["BTC"], amount="0.1", address="bc1q", second_factor=True,
                          otp_token="000000")
    assert info.value.code == "invalid_otp"
    assert Withdrawal.objects.count() == 1


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/api/docs/"])
def test_pages_carry_a_strict_content_security_policy(client, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_security_events_are_recorded_and_shown_to_their_owner(client):
    from exchange.accounts.models import SecurityEvent

    user = user_create(username="pam", email="p@example.com", password=PASSWORD)
    client.post(reverse("login"), {"username": "pam", "password": "nope-nope-nope"})
    client.post(reverse("login"), {"username": "pam", "password": PASSWORD})
    device = enable_2fa(client, user)
    client.post(reverse("api_keys"), {"action": "create", "scopes": ["read"], "otp_token": code(device, 1)})
    from exchange.audit.models import AuditEntry

    kinds = list(SecurityEvent.objects.filter(user=user).order_by("id").values_list("kind", flat=True))
    assert kinds == ["login_failed", "login", "2fa_enabled", "api_key_created"]
    audited = AuditEntry.objects.filter(action__startswith="security.", object_id=str(user.pk)).order_by("id")
    assert [a.action for a in audited] == [f"security.{k}" for k in kinds]
    page = client.get(reverse("security"))
    assert b"Failed login" in page.content
    assert b"API key created" in page.content
    other = user_create(username="quinn", email="q@example.com", password=PASSWORD)
    client.force_login(other)
    assert b"Failed login" not in client.get(reverse("security")).content


def test_revoking_with_a_malformed_key_id_is_a_clear_error(client):
    user = user_create(username="rex", email="r@example.com", password=PASSWORD)
    client.force_login(user)
    response = client.post(reverse("api_keys"), {"action": "revoke", "key_id": "abc"})
    assert response.status_code == 400
    assert b"no such key" in response.content
