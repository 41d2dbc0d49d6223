"""``POST /api/v1/withdrawals`` and friends: what is held, what is refused (and then holds
nothing), cancelling, the allow-list, and the four-eyes rule in the console."""
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from tests.api.conftest import Signed
from tests.chain.withdrawals.conftest import RECIPIENT, balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, redis_url, trader):
    from exchange.accounts.services import api_key_create

    def make(user=trader, scopes=("read", "withdraw")) -> Signed:
        api_key, secret = api_key_create(user=user, scopes=list(scopes))
        return Signed(client, api_key.key, secret)

    return make


def _nothing_held(user) -> bool:
    from exchange.ledger.models import Posting, Withdrawal

    return (not Withdrawal.objects.filter(user=user).exists()
            and not Posting.objects.filter(account__user=user, bucket="held").exists()
            and balance(user, "ETH") == (D(20), D(0)) and balance(user, "USDT") == (D(50000), D(0)))


def test_a_withdrawal_holds_amount_and_fee_at_once_and_is_listed(api, trader, ledger_clean):
    signed = api()
    response = signed.call("POST", "/api/v1/withdrawals", {"asset": "ETH", "amount": "1.25", "address": RECIPIENT})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["amount"], body["fee"], body["network"], body["address"]) == \
        ("requested", "1.25", "0.0005", "ethereum", RECIPIENT)
    assert balance(trader, "ETH") == (D("18.7495"), D("1.2505"))
    usdt = signed.call("POST", "/api/v1/withdrawals", {"asset": "USDT", "amount": "100.5", "address": RECIPIENT})
    assert usdt.status_code == 201
    assert balance(trader, "USDT") == (D("49898.5"), D("101.5"))
    listed = signed.call("GET", "/api/v1/withdrawals").json()["results"]
    assert [w["id"] for w in listed] == [usdt.json()["id"], body["id"]]
    assert [w["asset"] for w in signed.call("GET", "/api/v1/withdrawals?asset=ETH").json()["results"]] == ["ETH"]
    ledger_clean()


BAD = {
    "bad checksum": ({"asset": "ETH", "amount": "1", "address": RECIPIENT[:-2] + "e7"}, 400, "invalid_address"),
    "no checksum": ({"asset": "ETH", "amount": "1", "address": RECIPIENT.lower()}, 400, "invalid_address"),
    "not an address": ({"asset": "ETH", "amount": "1", "address": "bc1qxyz"}, 400, "invalid_address"),
    "zero": ({"asset": "ETH", "amount": "0", "address": RECIPIENT}, 400, "invalid_amount"),
    "negative": ({"asset": "ETH", "amount": "-1", "address": RECIPIENT}, 400, "invalid_amount"),
    "too many decimals": ({"asset": "USDT", "amount": "1.0000001", "address": RECIPIENT}, 400, "amount_precision"),
    "below minimum": ({"asset": "ETH", "amount": "0.0009", "address": RECIPIENT}, 400, "below_minimum"),
    "more than available": ({"asset": "ETH", "amount": "19.9996", "address": RECIPIENT}, 400, "insufficient_funds"),
    "unknown asset": ({"asset": "DOGE", "amount": "1", "address": RECIPIENT}, 404, "unknown_asset"),
    "a float amount": ({"asset": "ETH", "amount": 1.5, "address": RECIPIENT}, 400, None),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_withdrawal_is_refused_with_the_error_shape_and_holds_nothing(api, trader, case):
    body, status, code = BAD[case]
    response = api().call("POST", "/api/v1/withdrawals", body)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message"}
    assert error["message"]
    if code:
        assert error["code"] == code
    assert _nothing_held(trader)


def test_a_frozen_account_and_a_key_without_the_withdraw_scope_hold_nothing(api, trader):
    from exchange.accounts.models import Profile

    body = {"asset": "ETH", "amount": "1", "address": RECIPIENT}
    response = api(scopes=("read", "trade")).call("POST", "/api/v1/withdrawals", body)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "missing_scope")
    signed = api()
    Profile.objects.filter(user=trader).update(status="frozen")
    from django.core.cache import cache

    cache.clear()  # the API key cache would otherwise hold the account's state for a second
    response = signed.call("POST", "/api/v1/withdrawals", body)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "account_frozen")
    assert _nothing_held(trader)


def test_the_withdraw_scope_is_not_granted_by_default():
    from exchange.accounts.management.commands.create_api_key import Command

    parser = Command().create_parser("manage.py", "create_api_key")
    assert "withdraw" not in parser.parse_args(["someone"]).scopes


def test_a_browser_session_needs_a_current_second_factor(client, trader, redis_url):
    client.force_login(trader)
    response = client.post("/api/v1/withdrawals", {"asset": "ETH", "amount": "1", "address": RECIPIENT},
                           content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "otp_setup_required"
    assert _nothing_held(trader)


def test_cancel_while_requested_releases_the_hold(api, trader, ledger_clean):
    from exchange.ledger import services as ledger

    signed = api()
    first = signed.call("POST", "/api/v1/withdrawals", {"asset": "ETH", "amount": "2", "address": RECIPIENT}).json()
    second = signed.call("POST", "/api/v1/withdrawals", {"asset": "ETH", "amount": "3", "address": RECIPIENT}).json()
    response = signed.call("POST", f"/api/v1/withdrawals/{first['id']}/cancel")
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert balance(trader, "ETH") == (D("16.9995"), D("3.0005"))
    again = signed.call("POST", f"/api/v1/withdrawals/{first['id']}/cancel")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "withdrawal_not_cancellable")
    ledger.withdrawal_advance(withdrawal_id=second["id"], status="approved")
    late = signed.call("POST", f"/api/v1/withdrawals/{second['id']}/cancel")
    assert (late.status_code, late.json()["error"]["code"]) == (409, "withdrawal_not_cancellable")
    other = api(user=_other_user())
    assert other.call("POST", f"/api/v1/withdrawals/{second['id']}/cancel").status_code == 404
    ledger_clean()


def _other_user():
    from exchange.accounts.services import user_create

    return user_create(username="someone_else", email="else@example.com", password="correct-horse-battery-42")


def test_the_allow_list_when_on_refuses_other_addresses_and_new_ones_until_the_delay(api, trader, settings):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from exchange.withdrawals import services
    from exchange.withdrawals.models import AllowedAddress

    signed = api()
    services.allow_list_set(user=trader, enabled=True)
    body = {"asset": "ETH", "amount": "1", "address": RECIPIENT}
    response = signed.call("POST", "/api/v1/withdrawals", body)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "address_not_allowed")
    device = TOTPDevice.objects.create(user=trader, name="phone", confirmed=True)
    entry = services.allowed_address_add(user=trader, asset="ETH", address=RECIPIENT, otp_token=f"{totp(device.bin_key):06d}")
    assert entry.usable_from > timezone.now() + timedelta(hours=23)
    response = signed.call("POST", "/api/v1/withdrawals", body)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "address_not_yet_allowed")
    AllowedAddress.objects.filter(pk=entry.pk).update(usable_from=timezone.now() - timedelta(seconds=1))
    assert signed.call("POST", "/api/v1/withdrawals", body).status_code == 201
    assert balance(trader, "ETH") == (D("18.9995"), D("1.0005"))


@pytest.fixture
def admins(db):
    from tests.console.conftest import _user

    return _user("w_admin_one", "admin"), _user("w_admin_two", "admin")


def test_four_eyes_above_the_threshold_two_different_admins(api, trader, admins, ledger_clean):
    from exchange.console.models import ApprovalRequest
    from exchange.console.services import approvals, funds
    from exchange.errors import ExchangeError
    from exchange.ledger.models import Withdrawal

    first, second = admins
    small = api().call("POST", "/api/v1/withdrawals", {"asset": "ETH", "amount": "10", "address": RECIPIENT}).json()
    below = api().call("POST", "/api/v1/withdrawals", {"asset": "ETH", "amount": "9.5", "address": RECIPIENT}).json()
    large = api().call("POST", "/api/v1/withdrawals", {"asset": "USDT", "amount": "10000.000001",
                                                       "address": RECIPIENT}).json()
    # At the threshold (10 ETH) one admin is enough: it goes to the signer.
    assert funds.withdrawal_approve(actor=first, ip=None, withdrawal_id=small["id"], reason="ok").status == "approved"
    assert funds.withdrawal_approve(actor=first, ip=None, withdrawal_id=below["id"], reason="ok").status == "approved"
    request = funds.withdrawal_approve(actor=first, ip=None, withdrawal_id=large["id"], reason="big one")
    assert isinstance(request, ApprovalRequest)
    assert Withdrawal.objects.get(pk=large["id"]).status == "requested"
    with pytest.raises(ExchangeError) as info:
        approvals.approval_approve(actor=first, ip=None, approval_id=request.pk, reason="me again")
    assert info.value.code == "four_eyes"
    approvals.approval_approve(actor=second, ip=None, approval_id=request.pk, reason="checked")
    assert Withdrawal.objects.get(pk=large["id"]).status == "approved"
    from exchange.audit.models import AuditEntry

    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"funds.withdrawal_approve", "funds.withdrawal_requested"} <= actions
    ledger_clean()


def test_no_admin_approves_their_own_withdrawal_or_one_to_their_own_address(api, trader, admins, make_user):
    from exchange.accounts.models import Profile
    from exchange.console.services import funds
    from exchange.errors import ExchangeError
    from exchange.withdrawals.models import AllowedAddress

    first, second = admins
    AllowedAddress.objects.create(user=first, network="ethereum", address=RECIPIENT, usable_from=timezone.now())
    to_first = api().call("POST", "/api/v1/withdrawals", {"asset": "ETH", "amount": "1", "address": RECIPIENT}).json()
    with pytest.raises(ExchangeError) as info:
        funds.withdrawal_approve(actor=first, ip=None, withdrawal_id=to_first["id"], reason="mine")
    assert info.value.code == "own_account"
    assert funds.withdrawal_approve(actor=second, ip=None, withdrawal_id=to_first["id"], reason="ok").status == "approved"
    from exchange.ledger.services import deposit_credit
    from exchange.markets.models import Asset

    deposit_credit(user=second, asset=Asset.objects.get(symbol="ETH"), amount="5", reference="admin-two-eth")
    Profile.objects.filter(user=second).update(kyc_level=3)
    from eth_utils import to_checksum_address

    own = api(user=second).call("POST", "/api/v1/withdrawals", {"asset": "ETH", "amount": "1",
                                                                "address": to_checksum_address("0x" + "ab" * 20)}).json()
    with pytest.raises(ExchangeError) as info:
        funds.withdrawal_approve(actor=second, ip=None, withdrawal_id=own["id"], reason="mine")
    assert info.value.code == "own_account"


def test_an_asset_without_a_chain_keeps_the_admin_completed_flow(make_user, admins, withdraw_settings, ledger_clean):
    from exchange.accounts.models import Profile
    from exchange.console.services import funds
    from exchange.markets.services import asset_get_or_create
    from exchange.withdrawals.services import withdrawal_create

    withdraw_settings.EXCHANGE_FOUR_EYES_THRESHOLDS = {"USD": "1000"}
    asset_get_or_create(symbol="USD", name="US dollar", decimals=2)
    user = make_user("usd_user", USD="500")
    Profile.objects.filter(user=user).update(kyc_level=2)
    withdrawal = withdrawal_create(user=user, asset="USD", amount="100", address="bank:DE00 1234")
    assert (withdrawal.network, withdrawal.fee, withdrawal.status) == ("", D(0), "requested")
    withdrawal = funds.withdrawal_approve(actor=admins[0], ip=None, withdrawal_id=withdrawal.pk, reason="paid by wire")
    assert withdrawal.status == "confirmed"
    assert balance(user, "USD") == (D(400), D(0))
    ledger_clean()


def test_the_security_page_links_the_allow_list_page_which_turns_it_on_and_adds_an_address(client, trader):
    from django_otp.oath import totp

    from exchange.withdrawals.models import AllowedAddress, AllowListSetting
    from tests.console.conftest import verified_login

    verified_login(client, trader)  # a session that passed two-factor, as the page needs
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=trader)
    assert "/account/withdrawal-addresses/" in client.get("/accounts/security/").content.decode()
    assert client.post("/account/withdrawal-addresses/", {"action": "on"}).status_code == 302
    assert AllowListSetting.objects.get(user=trader).enabled
    refused = client.post("/account/withdrawal-addresses/", {"action": "add", "asset": "ETH", "address": RECIPIENT,
                                                              "otp_token": ""})  # (a wrong code would throttle the device)
    assert refused.status_code == 403
    assert not AllowedAddress.objects.exists()
    added = client.post("/account/withdrawal-addresses/", {"action": "add", "asset": "ETH", "address": RECIPIENT,
                                                            "otp_token": f"{totp(device.bin_key):06d}"})
    assert added.status_code == 302
    assert AllowedAddress.objects.get(user=trader).address == RECIPIENT
    assert RECIPIENT in client.get("/account/withdrawal-addresses/").content.decode()
