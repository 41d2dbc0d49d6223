"""Security changes: the e-mail and the withdrawal lock, turning two-factor off, and keys made by
an operator (audited, not locked)."""
import json
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from exchange.accounts.models import Profile, SecurityEvent
from exchange.accounts.security import withdrawals_locked_until
from exchange.audit.models import AuditEntry
from tests.accounts.webclient import code

pytestmark = pytest.mark.django_db


def enrol(client, user, django_capture_on_commit_callbacks):
    client.post(reverse("security"), {"action": "start"})
    pending = TOTPDevice.objects.get(user=user, confirmed=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("security"), {"action": "confirm", "token": code(pending)})
    assert response.status_code == 200
    return TOTPDevice.objects.get(user=user), response.context["recovery_codes"]


def test_turning_two_factor_on_emails_the_user_and_locks_withdrawals(client, make_user, settings,
                                                                      django_capture_on_commit_callbacks):
    settings.EXCHANGE_SECURITY_WITHDRAWAL_LOCK_HOURS = 24
    user = make_user("pia")
    client.force_login(user)
    enrol(client, user, django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["pia@example.com"]]
    assert "turned on" in mail.outbox[0].body
    until = withdrawals_locked_until(user)
    assert until is not None
    assert until.strftime("%Y-%m-%d %H:%M") in mail.outbox[0].body


def test_turning_two_factor_off_needs_a_code_and_locks_again(client, make_user, django_capture_on_commit_callbacks):
    user = make_user("quy")
    client.force_login(user)
    _, codes = enrol(client, user, django_capture_on_commit_callbacks)
    Profile.objects.filter(user=user).update(withdrawals_locked_until=None)
    refused = client.post(reverse("security"), {"action": "disable", "current_token": "000000"})
    assert refused.status_code == 400
    assert TOTPDevice.objects.filter(user=user).exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("security"), {"action": "disable", "current_token": codes[0]})
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert withdrawals_locked_until(user) is not None
    assert "turned off" in mail.outbox[-1].body
    assert SecurityEvent.objects.filter(user=user, kind="2fa_disabled").exists()


def test_a_withdraw_key_from_the_operator_command_is_audited_not_locked(make_user):
    user = make_user("ray")
    out = StringIO()
    call_command("create_api_key", "ray", "--scopes", "read", "withdraw", stdout=out)
    assert json.loads(out.getvalue())["scopes"] == ["read", "withdraw"]
    entry = AuditEntry.objects.get(action="api_key.create_cli")
    assert entry.object_id == str(user.pk)
    assert entry.after["scopes"] == ["read", "withdraw"]
    assert withdrawals_locked_until(user) is None


def test_the_operator_command_refuses_a_bad_address(make_user):
    from django.core.management.base import CommandError

    make_user("sue")
    with pytest.raises(CommandError, match="invalid_allowed_ips"):
        call_command("create_api_key", "sue", "--allowed-ips", "not-an-ip", stdout=StringIO())
