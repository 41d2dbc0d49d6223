"""Sign-up, login, logout, password change, frozen users, and the three roles."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from exchange.accounts.models import Profile, UserStatus
from exchange.accounts.roles import ADMIN, COMPLIANCE, TRADER
from exchange.accounts.services import user_create, user_set_status
from exchange.errors import ExchangeError
from exchange.ledger.models import LedgerAccount

PASSWORD = "correct-horse-battery-42"
pytestmark = pytest.mark.django_db


def test_signup_creates_a_trader_with_profile_and_ledger_account(client):
    response = client.post(
        reverse("signup"),
        {"username": "dana", "email": "dana@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="dana")
    assert Profile.objects.get(user=user).status == UserStatus.ACTIVE
    assert LedgerAccount.objects.filter(user=user, kind="user").exists()
    assert list(user.groups.values_list("name", flat=True)) == [TRADER]
    assert client.get(reverse("home")).context["user"].username == "dana"


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"username": "eve", "email": "eve@example.com", "password1": "123", "password2": "123"}, "password1", "too short"),
        ({"username": "eve", "email": "not-an-email", "password1": PASSWORD, "password2": PASSWORD}, "email", "valid"),
        (
            {"username": "eve", "email": "e@example.com", "password1": PASSWORD, "password2": PASSWORD + "x"},
            "password2",
            "differ",
        ),
        ({"username": "eve", "email": "e@example.com", "password1": "password", "password2": "password"}, "password1", "common"),
    ],
)
def test_signup_errors_are_shown_next_to_the_field(client, data, field, text):
    response = client.post(reverse("signup"), data)
    assert response.status_code == 400
    assert text in " ".join(response.context["form"].errors[field]).lower()
    assert not get_user_model().objects.filter(username="eve").exists()


def test_signup_refuses_a_taken_username_whatever_its_case(client):
    user_create(username="Frank", email="f@example.com", password=PASSWORD)
    response = client.post(
        reverse("signup"), {"username": "frank", "email": "g@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 400
    assert "taken" in " ".join(response.context["form"].errors["username"])


def test_login_logout_and_password_change(client):
    user_create(username="gina", email="g@example.com", password=PASSWORD)
    response = client.post(reverse("login"), {"username": "gina", "password": PASSWORD})
    assert response.status_code == 302
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "another-horse-77", "new_password2": "another-horse-77"},
    )
    assert response.status_code == 302
    client.post(reverse("logout"))
    assert not client.login(username="gina", password=PASSWORD)
    assert client.login(username="gina", password="another-horse-77")


def test_a_frozen_user_cannot_log_in_and_is_logged_out(client):
    user = user_create(username="hank", email="h@example.com", password=PASSWORD)
    assert client.login(username="hank", password=PASSWORD)
    user_set_status(user=user, status=UserStatus.FROZEN)
    # The session no longer authenticates: the backend refuses frozen users on every request.
    assert not client.get(reverse("home")).context["user"].is_authenticated
    response = client.post(reverse("login"), {"username": "hank", "password": PASSWORD})
    assert response.status_code == 200  # the form again, with an error
    assert response.context["form"].errors
    user_set_status(user=user, status=UserStatus.ACTIVE)
    assert client.login(username="hank", password=PASSWORD)


def test_user_create_validates_before_writing():
    with pytest.raises(ExchangeError) as info:
        user_create(username="", email="x@example.com", password=PASSWORD)
    assert info.value.code == "invalid_username"
    assert not get_user_model().objects.exists()


def test_roles_have_only_what_they_need():
    admin = user_create(username="ann", email="a@example.com", password=PASSWORD, role=ADMIN)
    officer = user_create(username="col", email="c@example.com", password=PASSWORD, role=COMPLIANCE)
    trader = user_create(username="tom", email="t@example.com", password=PASSWORD)
    assert admin.has_perm("markets.change_market")
    assert admin.has_perm("ledger.change_withdrawal")
    assert not admin.has_perm("ledger.change_posting")
    assert officer.has_perm("markets.view_market")
    assert not officer.has_perm("markets.change_market")
    assert not officer.has_perm("ledger.change_withdrawal")
    assert not Group.objects.get(name=TRADER).permissions.exists()
    assert not trader.has_perm("markets.view_market")


def test_traders_cannot_enter_the_django_admin(client):
    user_create(username="tim", email="t@example.com", password=PASSWORD)
    client.login(username="tim", password=PASSWORD)
    assert client.get("/admin/").status_code == 302
