"""The per-username ceiling on failed logins: a guesser spreading over many addresses is stopped,
and cannot lock the owner out, who adds their two-factor code to the password."""
import pytest
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from exchange.accounts.services import user_create
from tests.accounts.webclient import PASSWORD, code

pytestmark = pytest.mark.django_db


@pytest.fixture
def ceiling(settings):
    settings.AXES_ENABLED = True
    settings.EXCHANGE_LOGIN_USER_FAILURE_CEILING = 8
    return 8


def guess_from_many_addresses(client, username: str, count: int) -> list[int]:
    return [client.post(reverse("login"), {"username": username, "password": f"guess-{n}"},
                        REMOTE_ADDR=f"198.51.100.{n + 1}").status_code for n in range(count)]


def test_many_addresses_cannot_lock_out_an_owner_who_gives_the_code(client, ceiling):
    owner = user_create(username="gus", email="g@example.com", password=PASSWORD)
    device = TOTPDevice.objects.create(user=owner, name="authenticator", confirmed=True)
    # Each address stays under django-axes' per-address limit; the username passes the ceiling.
    assert guess_from_many_addresses(client, "gus", ceiling) == [200] * ceiling

    # Another username is not affected.
    user_create(username="ivy", email="i@example.com", password=PASSWORD)
    assert Client().post(reverse("login"), {"username": "ivy", "password": PASSWORD}).status_code == 302
    # From now on the password alone is not even checked, whoever sends it...
    guessed = client.post(reverse("login"), {"username": "gus", "password": PASSWORD}, REMOTE_ADDR="198.51.100.99")
    assert guessed.status_code == 429
    assert "otp_token" in guessed.content.decode()  # the form now asks for the code too
    assert "_auth_user_id" not in client.session
    # ...and a wrong code with the right password is refused like a wrong password.
    wrong = client.post(reverse("login"), {"username": "gus", "password": PASSWORD, "otp_token": "000000"},
                        REMOTE_ADDR="192.0.2.10")
    assert wrong.status_code == 429
    assert "_auth_user_id" not in client.session
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)

    # The owner, from their own address, gets in with the password and a current code, at once.
    owner_in = client.post(reverse("login"), {"username": "gus", "password": PASSWORD, "otp_token": code(device)},
                           REMOTE_ADDR="192.0.2.10")
    assert owner_in.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id


def test_without_two_factor_the_ceiling_holds_until_the_window_passes(client, ceiling):
    from exchange.accounts.models import SecurityEvent

    user_create(username="hal", email="h@example.com", password=PASSWORD)
    guess_from_many_addresses(client, "hal", ceiling)
    for extra in ({}, {"otp_token": "123456"}):  # a made-up code does not help either
        response = client.post(reverse("login"), {"username": "hal", "password": PASSWORD, **extra})
        assert response.status_code == 429
        assert "_auth_user_id" not in client.session
    SecurityEvent.objects.filter(user__username="hal").update(created_at="2000-01-01T00:00:00Z")
    assert client.post(reverse("login"), {"username": "hal", "password": PASSWORD}).status_code == 302

