"""KYC tiers change only by an admin or compliance officer in the console (never their own) or by
an operator with ``manage.py set_kyc_level``; every change is audited with its reason."""
import pytest
from django.core.management import CommandError, call_command

from exchange.accounts.models import Profile
from exchange.audit.models import AuditEntry
from tests.console.conftest import refusal_code


def level_of(user) -> int:
    return Profile.objects.get(user=user).kyc_level


def test_compliance_sets_kyc_levels(compliance_client, compliance, make_user, last_audit):
    user = make_user("pia")
    page = compliance_client.get(f"/console/users/{user.pk}/")
    assert b"Set KYC level" in page.content
    assert b"Freeze" not in page.content
    response = compliance_client.post(f"/console/users/{user.pk}/kyc", {"level": "1", "reason": "ID document checked"})
    assert response.status_code == 302
    assert level_of(user) == 1
    entry = last_audit("user.kyc_set")
    assert (entry.actor_username, entry.before, entry.after, entry.reason, entry.source) == (
        "carol_compliance", {"kyc_level": 0}, {"kyc_level": 1}, "ID document checked", "console")


@pytest.mark.parametrize("role", ["admin", "compliance"])
def test_nobody_sets_their_own_kyc_level(role, request, last_audit):
    client, user = request.getfixturevalue(f"{role}_client"), request.getfixturevalue(role)
    response = client.post(f"/console/users/{user.pk}/kyc", {"level": "3", "reason": "trust me"})
    assert (response.status_code, refusal_code(response)) == (403, "own_account")
    assert level_of(user) == 0
    assert last_audit("user.kyc_set") is None
    assert b"Set KYC level" not in client.get(f"/console/users/{user.pk}/").content


def test_set_kyc_level_command_is_audited_as_the_operator(make_user, capsys):
    user = make_user("quin")
    call_command("set_kyc_level", "quin", "2", "--reason", "video call 2026-12-06, ticket 4411")
    assert level_of(user) == 2
    assert "quin: KYC level 2" in capsys.readouterr().out
    entry = AuditEntry.objects.get(action="user.kyc_set")
    assert (entry.actor_id, entry.actor_username, entry.source, entry.object_id) == (None, "", "system", str(user.pk))
    assert (entry.before, entry.after, entry.reason) == ({"kyc_level": 0}, {"kyc_level": 2},
                                                         "video call 2026-12-06, ticket 4411")


def test_set_kyc_level_command_refuses_bad_input(make_user):
    make_user("rudi")
    with pytest.raises(CommandError):
        call_command("set_kyc_level", "rudi", "2")  # no reason
    with pytest.raises(CommandError):
        call_command("set_kyc_level", "rudi", "2", "--reason", "  ")
    with pytest.raises(CommandError):
        call_command("set_kyc_level", "rudi", "4", "--reason", "x")
    with pytest.raises(CommandError):
        call_command("set_kyc_level", "nobody", "1", "--reason", "x")
    assert not AuditEntry.objects.filter(action="user.kyc_set").exists()
    assert Profile.objects.get(user__username="rudi").kyc_level == 0


def test_the_django_admin_cannot_change_a_kyc_level(admin, admin_client):
    """Django admin would bypass the console's rules (an admin raising their own tier)."""
    admin.is_staff = True
    admin.save()
    profile = Profile.objects.get(user=admin)
    page = admin_client.get(f"/admin/accounts/profile/{profile.pk}/change/")
    assert page.status_code == 200
    assert b'name="kyc_level"' not in page.content
    admin_client.post(f"/admin/accounts/profile/{profile.pk}/change/", {"user": admin.pk, "status": "active",
                                                                       "kyc_level": "3"})
    assert level_of(admin) == 0
