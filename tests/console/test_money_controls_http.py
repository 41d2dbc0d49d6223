"""Issue 20, items 4 and 5, reproduced through a real Daphne: one admin could credit themselves
5,000 BTC with a made-up reference and approve their own 4,000 BTC withdrawal; a level-0 user's
withdrawal was accepted like anyone's."""
import re
import time
from decimal import Decimal

import pytest
import requests
from django.core.management import call_command
from django.test import Client

from exchange.accounts.services import user_create
from exchange.console.models import ApprovalRequest
from exchange.ledger.models import Balance, Withdrawal
from exchange.ledger.services import deposit_credit, withdrawal_request
from tests.console.conftest import PASSWORD, verified_login

pytestmark = pytest.mark.django_db(transaction=True)

SERVER_ENV = {"EXCHANGE_FOUR_EYES_THRESHOLDS": "BTC=1,USD=1000", "EXCHANGE_FOUR_EYES_THRESHOLD": "0",
              "EXCHANGE_REFERENCE_PRICES": "BTC=50000"}


@pytest.fixture
def web(start_web, settings, assets):
    settings.EXCHANGE_REFERENCE_PRICES = {"BTC": "50000"}
    return start_web(**SERVER_ENV)


def browser(web, user) -> requests.Session:
    """A browser session of ``user`` against the real server, past two-factor, with its CSRF cookie."""
    client = verified_login(Client(), user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    session.get(web.url + "/markets/", timeout=10)
    session.headers["X-CSRFToken"] = session.cookies.get("csrftoken", "")
    return session


def post(session: requests.Session, web, path: str, data: dict) -> requests.Response:
    return session.post(web.url + path, data={"reason": "audited reason", **data}, allow_redirects=False, timeout=10)


def refused_with(response: requests.Response) -> str:
    match = re.search(r'data-code="([a-z_]+)"', response.text)
    assert match, (response.status_code, response.text[:300])
    return match.group(1)


def btc(user) -> tuple[Decimal, Decimal]:
    row = Balance.objects.filter(account__user=user, asset__symbol="BTC").first()
    return (row.available, row.held) if row else (Decimal(0), Decimal(0))


def test_one_admin_cannot_pay_themselves(web, assets, ledger_clean):
    alice, bob, cleo = (user_create(username=n, email=f"{n}@example.com", password=PASSWORD, role="admin")
                        for n in ("alice", "bob", "cleo"))
    as_alice, as_bob, as_cleo = browser(web, alice), browser(web, bob), browser(web, cleo)

    # The reported attack: a 5,000 BTC credit to herself with a made-up reference.
    own = post(as_alice, web, "/console/funds/deposit", {"username": "alice", "asset": "BTC", "amount": "5000",
                                                         "reference": "made-up"})
    assert (own.status_code, refused_with(own)) == (403, "own_account")
    # A colleague cannot ask for it either: an unverified account may not receive that much.
    big = post(as_bob, web, "/console/funds/deposit", {"username": "alice", "asset": "BTC", "amount": "5000",
                                                       "reference": "made-up"})
    assert (big.status_code, refused_with(big)) == (403, "kyc_limit_exceeded")
    # With a colleague's request, she still cannot approve a credit to herself.
    asked = post(as_bob, web, "/console/funds/deposit", {"username": "alice", "asset": "BTC", "amount": "0.01",
                                                         "reference": "made-up"})
    assert asked.status_code == 302
    approval = ApprovalRequest.objects.get()
    approve = post(as_alice, web, f"/console/funds/approvals/{approval.pk}/approve", {})
    assert (approve.status_code, refused_with(approve)) == (403, "own_account")
    assert btc(alice) == (0, 0)
    post(as_cleo, web, f"/console/funds/approvals/{approval.pk}/reject", {"reason": "no such transfer"})

    # Her own withdrawal: she cannot approve it, at any step.
    deposit_credit(user=alice, asset=assets["BTC"], amount="5", reference="operator:alice")
    call_command("set_kyc_level", "alice", "3", "--reason", "staff account verified")
    withdrawal = withdrawal_request(user=alice, asset=assets["BTC"], amount="4", address="bc1q-alice")
    first = post(as_alice, web, f"/console/funds/withdrawals/{withdrawal.pk}/approve", {})
    assert (first.status_code, refused_with(first)) == (403, "own_account")
    assert post(as_bob, web, f"/console/funds/withdrawals/{withdrawal.pk}/approve", {}).status_code == 302
    assert Withdrawal.objects.get(pk=withdrawal.pk).status == "requested"  # 4 BTC > the BTC threshold of 1
    second = ApprovalRequest.objects.get(withdrawal=withdrawal)
    beneficiary = post(as_alice, web, f"/console/funds/approvals/{second.pk}/approve", {})
    assert (beneficiary.status_code, refused_with(beneficiary)) == (403, "own_account")
    requester = post(as_bob, web, f"/console/funds/approvals/{second.pk}/approve", {})
    assert (requester.status_code, refused_with(requester)) == (403, "four_eyes")
    assert Withdrawal.objects.get(pk=withdrawal.pk).status == "requested"
    assert post(as_cleo, web, f"/console/funds/approvals/{second.pk}/approve", {}).status_code == 302
    assert Withdrawal.objects.get(pk=withdrawal.pk).status == "confirmed"
    assert btc(alice) == (1, 0)
    ledger_clean()


def test_a_deposit_needs_a_second_admin_and_a_fresh_reference(web, assets, make_user, ledger_clean):
    alice, bob = (user_create(username=n, email=f"{n}@example.com", password=PASSWORD, role="admin")
                  for n in ("alice", "bob"))
    trader = make_user("tina")
    as_alice, as_bob = browser(web, alice), browser(web, bob)
    form = {"username": "tina", "asset": "USD", "amount": "500", "reference": "bank:2026-12-06-001"}
    assert post(as_alice, web, "/console/funds/deposit", form).status_code == 302
    assert not Balance.objects.filter(account__user=trader, available__gt=0).exists()
    again = post(as_bob, web, "/console/funds/deposit", form)
    assert (again.status_code, refused_with(again)) == (409, "duplicate_reference")
    approval = ApprovalRequest.objects.get()
    mine = post(as_alice, web, f"/console/funds/approvals/{approval.pk}/approve", {})
    assert (mine.status_code, refused_with(mine)) == (403, "four_eyes")
    assert post(as_bob, web, f"/console/funds/approvals/{approval.pk}/approve", {}).status_code == 302
    assert Balance.objects.get(account__user=trader, asset__symbol="USD").available == Decimal(500)
    ledger_clean()


def _codes(device):
    """Successive TOTP codes of ``device``, one per time step from now (each is accepted once)."""
    from django_otp.oath import TOTP

    step = 0
    while True:
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time() + step * device.step
        yield f"{totp.token():0{device.digits}d}"
        step += 1


def test_kyc_tiers_limit_withdrawals_from_the_wallet(web, make_user, ledger_clean):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    trader = make_user("uma", USD="5000")
    device = TOTPDevice.objects.create(user=trader, name="phone", confirmed=True, tolerance=10)
    codes = _codes(device)
    as_uma = browser(web, trader)

    def withdraw(amount: str) -> requests.Response:
        return as_uma.post(web.url + "/wallet/", data={
            "action": "withdraw", "withdraw-asset": "USD", "withdraw-amount": amount, "withdraw-address": "bank:DE89",
            "withdraw-otp_token": next(codes)}, allow_redirects=False, timeout=10)

    page = as_uma.get(web.url + "/wallet/", timeout=10).text
    assert 'data-kyc-level="0"' in page
    assert "withdrawals are not allowed yet" in page
    level0 = withdraw("10")
    assert level0.status_code == 400
    assert "may not withdraw" in level0.text
    assert not Withdrawal.objects.exists()

    call_command("set_kyc_level", "uma", "1", "--reason", "ID checked")
    assert 'data-kyc-level="1"' in as_uma.get(web.url + "/wallet/", timeout=10).text
    too_big = withdraw("1500")  # tier 1: 1,000 USD per request, 2,000 in 24 hours
    assert too_big.status_code == 400
    assert "allows 1000 USD per withdrawal" in too_big.text
    assert withdraw("900").status_code == 302
    assert withdraw("900").status_code == 302
    over_the_day = withdraw("900")
    assert over_the_day.status_code == 400
    assert "200 USD is left" in over_the_day.text
    assert Withdrawal.objects.filter(user=trader).count() == 2
    page = as_uma.get(web.url + "/wallet/", timeout=10).text
    assert re.search(r'data-testid="withdraw-left">200 USD<', page), page[page.find("kyc-limits"):][:1500]
    ledger_clean()
