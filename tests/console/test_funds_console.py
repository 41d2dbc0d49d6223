"""Funds: no admin moves money alone (issue 20, item 4). Every manual credit (a deposit, an
adjustment) waits for a second admin; a withdrawal above its asset's threshold does too; nobody
approves what they asked for nor money going to or from their own account; a deposit reference
credits once per asset; every step is audited."""
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from exchange.console.models import ApprovalRequest
from exchange.console.services import funds
from exchange.errors import ExchangeError
from exchange.ledger.models import Balance, LedgerEntry, Withdrawal
from exchange.ledger.services import deposit_credit, withdrawal_request
from tests.console.conftest import refusal_code

D = Decimal


@pytest.fixture(autouse=True)
def _thresholds(settings):
    settings.EXCHANGE_FOUR_EYES_THRESHOLD = "0"  # ETH has no entry: every ETH withdrawal needs two admins
    settings.EXCHANGE_FOUR_EYES_THRESHOLDS = {"BTC": "1", "USD": "1000"}
    settings.EXCHANGE_REFERENCE_PRICES = {"BTC": "50000", "ETH": "2500"}


def available(user, symbol: str = "USD") -> Decimal:
    row = Balance.objects.filter(account__user=user, asset__symbol=symbol).first()
    return row.available if row else D(0)


def entry_postings(entry: LedgerEntry) -> dict:
    return {(p.account.kind, p.bucket): p.amount for p in entry.postings.select_related("account")}


def test_a_deposit_waits_for_a_second_admin_and_credits_once(admin_client, admin2_client, admin, admin2, make_user,
                                                             assets, last_audit, ledger_clean):
    user = make_user("gina")
    form = {"username": "gina", "asset": "USD", "amount": "250.5", "reference": "bank:TX-991", "reason": "wire received"}
    assert admin_client.post("/console/funds/deposit", form).status_code == 302
    assert available(user) == 0  # one admin credits nothing
    approval = ApprovalRequest.objects.get()
    assert (approval.kind, approval.status, approval.amount, approval.reference) == ("deposit", "pending", D("250.5"),
                                                                                     "bank:TX-991")
    asked = last_audit("funds.deposit_requested")
    assert asked.after == {"user": user.pk, "asset": "USD", "amount": "250.5", "withdrawal": None,
                           "reference": "bank:TX-991"}
    assert (asked.reason, asked.ip, asked.actor_username) == ("wire received", "203.0.113.7", "alice_admin")

    mine = admin_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "me again"})
    assert (mine.status_code, refusal_code(mine)) == (403, "four_eyes")
    assert available(user) == 0

    admin2_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "statement checked"})
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == ("approved", admin2)
    assert available(user) == D("250.5")
    assert entry_postings(approval.ledger_entry) == {("user", "available"): D("250.5"),
                                                     ("external", "available"): D("-250.5")}
    done = last_audit("funds.deposit_approve")
    assert (done.actor_username, done.after["reference"], done.before["requested_by"]) == ("bob_admin", "bank:TX-991",
                                                                                            admin.pk)
    again = admin2_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "twice"})
    assert (again.status_code, refusal_code(again)) == (409, "approval_not_pending")
    assert available(user) == D("250.5")
    ledger_clean()


def test_a_deposit_reference_is_required_and_unique_per_asset(admin_client, admin2_client, admin, make_user, assets,
                                                              last_audit):
    hana = make_user("hana")
    form = {"username": "hana", "asset": "USD", "amount": "10", "reason": "wire"}
    missing = admin_client.post("/console/funds/deposit", {**form, "reference": ""})
    assert missing.status_code == 400
    with pytest.raises(ExchangeError) as info:
        funds.deposit_credit(actor=admin, ip=None, user=hana, asset=assets["USD"], amount="10", reference="   ",
                             reason="x")
    assert info.value.code == "reference_required"

    assert admin_client.post("/console/funds/deposit", {**form, "reference": "bank:7"}).status_code == 302
    duplicate = admin_client.post("/console/funds/deposit", {**form, "reference": "bank:7"})
    assert (duplicate.status_code, refusal_code(duplicate)) == (409, "duplicate_reference")
    # Another admin cannot slip the same transfer in twice either.
    duplicate2 = admin2_client.post("/console/funds/deposit", {**form, "amount": "99", "reference": "bank:7"})
    assert (duplicate2.status_code, refusal_code(duplicate2)) == (409, "duplicate_reference")
    # Per asset: the same reference in another asset is another transfer.
    assert admin_client.post("/console/funds/deposit", {**form, "asset": "BTC", "amount": "0.001",
                                                        "reference": "bank:7"}).status_code == 302
    assert ApprovalRequest.objects.filter(reference="bank:7").count() == 2

    # A reference an operator already credited in this asset is taken too.
    deposit_credit(user=make_user("ivo"), asset=assets["USD"], amount="5", reference="bank:8")
    taken = admin_client.post("/console/funds/deposit", {**form, "reference": "bank:8"})
    assert (taken.status_code, refusal_code(taken)) == (409, "duplicate_reference")

    # A rejected request frees its reference for the corrected one.
    first = ApprovalRequest.objects.get(reference="bank:7", asset__symbol="USD")
    admin2_client.post(f"/console/funds/approvals/{first.pk}/reject", {"reason": "wrong amount"})
    assert admin_client.post("/console/funds/deposit", {**form, "amount": "11", "reference": "bank:7"}).status_code == 302

    # The database refuses a second live request for one reference, whatever the code path.
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRequest.objects.create(kind="deposit", user=first.user, asset=first.asset, amount=D(1),
                                       reference="bank:7", reason="raw", requested_by=admin)


def test_nobody_credits_their_own_account(admin_client, admin2_client, admin3_client, admin, admin2, assets, last_audit,
                                          ledger_clean):
    own = admin_client.post("/console/funds/deposit", {"username": "alice_admin", "asset": "BTC", "amount": "5000",
                                                       "reference": "made-up", "reason": "mine"})
    assert (own.status_code, refusal_code(own)) == (403, "own_account")
    own_adjust = admin_client.post("/console/funds/adjust", {"username": "alice_admin", "asset": "BTC",
                                                             "amount": "5000", "reason": "mine"})
    assert (own_adjust.status_code, refusal_code(own_adjust)) == (403, "own_account")
    assert not ApprovalRequest.objects.exists()
    assert last_audit() is None

    # A colleague asks for a credit to alice: alice may not approve it, a third admin may.
    admin2_client.post("/console/funds/deposit", {"username": "alice_admin", "asset": "USD", "amount": "100",
                                                  "reference": "bank:55", "reason": "salary advance"})
    approval = ApprovalRequest.objects.get()
    refused = admin_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "thanks"})
    assert (refused.status_code, refusal_code(refused)) == (403, "own_account")
    assert available(admin) == 0
    admin3_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "ok"})
    assert available(admin) == D("100")
    ledger_clean()


def test_every_adjustment_needs_a_second_admin(admin_client, admin2_client, make_user, assets, last_audit,
                                              ledger_clean):
    user = make_user("hugo", USD="100")
    overdraw = admin_client.post("/console/funds/adjust", {"username": "hugo", "asset": "USD", "amount": "-1000",
                                                           "reason": "x"})
    assert (overdraw.status_code, refusal_code(overdraw)) == (400, "insufficient_funds")
    assert last_audit() is None
    admin_client.post("/console/funds/adjust", {"username": "hugo", "asset": "USD", "amount": "-40",
                                                "reason": "fee refund reversal"})
    assert available(user) == D("100")  # even a small one waits
    approval = ApprovalRequest.objects.get()
    assert (approval.kind, approval.amount) == ("adjustment", D("-40"))
    assert last_audit("funds.adjustment_requested").after == {"user": user.pk, "asset": "USD", "amount": "-40",
                                                              "withdrawal": None}
    admin2_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "ticket 12"})
    assert available(user) == D("60")
    approval.refresh_from_db()
    assert entry_postings(approval.ledger_entry) == {("user", "available"): D("-40"), ("external", "available"): D("40")}
    ledger_clean()


def test_four_eyes_the_requester_cannot_approve_their_own_adjustment(admin_client, admin2_client, admin, admin2,
                                                                     make_user, assets, last_audit, ledger_clean):
    user = make_user("ivy")
    admin_client.post("/console/funds/adjust", {"username": "ivy", "asset": "USD", "amount": "5000", "reason": "goodwill"})
    approval = ApprovalRequest.objects.get()
    assert (approval.status, approval.amount, approval.requested_by) == ("pending", D("5000"), admin)
    assert available(user) == 0

    response = admin_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "me again"})
    assert (response.status_code, refusal_code(response)) == (403, "four_eyes")
    assert any("four_eyes" in str(m) for m in response.context["messages"])
    approval.refresh_from_db()
    assert approval.status == "pending"
    assert last_audit("funds.adjustment_approve") is None

    admin2_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "checked ticket 77"})
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == ("approved", admin2)
    assert available(user) == D("5000")
    assert sum(p.amount for p in approval.ledger_entry.postings.all()) == 0
    entry = last_audit("funds.adjustment_approve")
    assert (entry.actor_username, entry.reason) == ("bob_admin", "checked ticket 77")
    assert entry.before["requested_by"] == admin.pk
    ledger_clean()


def test_a_rejected_request_posts_nothing(admin_client, admin2_client, make_user, assets, last_audit):
    user = make_user("kim")
    admin_client.post("/console/funds/adjust", {"username": "kim", "asset": "USD", "amount": "2000", "reason": "x"})
    approval = ApprovalRequest.objects.get()
    admin2_client.post(f"/console/funds/approvals/{approval.pk}/reject", {"reason": "no ticket"})
    approval.refresh_from_db()
    assert approval.status == "rejected"
    assert not Balance.objects.filter(account__user=user, available__gt=0).exists()
    assert last_audit("funds.adjustment_reject").reason == "no ticket"


@pytest.mark.parametrize(("symbol", "amount", "needs_second_admin"), [
    ("BTC", "0.5", False), ("BTC", "1", False), ("BTC", "2", True),
    ("USD", "300", False), ("USD", "1000.01", True),
    ("ETH", "0.01", True),  # no entry for ETH: the default 0, never one admin alone
])
def test_withdrawal_thresholds_are_per_asset(symbol, amount, needs_second_admin, admin_client, make_user, kyc_level,
                                             assets, last_audit, ledger_clean):
    user = kyc_level(make_user("lea", **{symbol: "3000"}), 3)
    withdrawal = withdrawal_request(user=user, asset=assets[symbol], amount=amount, address="dest")
    admin_client.post(f"/console/funds/withdrawals/{withdrawal.pk}/approve", {"reason": "KYC ok"})
    withdrawal.refresh_from_db()
    if needs_second_admin:
        assert withdrawal.status == "requested"
        assert ApprovalRequest.objects.get(withdrawal=withdrawal).amount == D(amount)
        assert last_audit("funds.withdrawal_requested").after["threshold"] == \
            {"BTC": "1", "USD": "1000", "ETH": "0"}[symbol]
    else:
        assert withdrawal.status == "confirmed"
        assert not ApprovalRequest.objects.exists()
        entry = last_audit("funds.withdrawal_complete")
        assert (entry.before, entry.after["status"]) == ({"status": "requested"}, "confirmed")
    ledger_clean()


def test_an_admin_cannot_approve_their_own_withdrawal(admin_client, admin2_client, admin3_client, admin, admin2,
                                                      kyc_level, assets, last_audit, ledger_clean):
    deposit_credit(user=admin, asset=assets["BTC"], amount="5", reference="fixture:alice-btc")
    kyc_level(admin, 3)
    withdrawal = withdrawal_request(user=admin, asset=assets["BTC"], amount="2", address="bc1q-mine")
    own = admin_client.post(f"/console/funds/withdrawals/{withdrawal.pk}/approve", {"reason": "mine"})
    assert (own.status_code, refusal_code(own)) == (403, "own_account")
    assert Withdrawal.objects.get(pk=withdrawal.pk).status == "requested"
    assert last_audit() is None

    admin2_client.post(f"/console/funds/withdrawals/{withdrawal.pk}/approve", {"reason": "first look"})
    approval = ApprovalRequest.objects.get(withdrawal=withdrawal)
    beneficiary = admin_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "mine"})
    assert (beneficiary.status_code, refusal_code(beneficiary)) == (403, "own_account")
    requester = admin2_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "again"})
    assert (requester.status_code, refusal_code(requester)) == (403, "four_eyes")
    assert Withdrawal.objects.get(pk=withdrawal.pk).status == "requested"

    admin3_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "second look"})
    withdrawal.refresh_from_db()
    assert withdrawal.status == "confirmed"
    assert (available(admin, "BTC"), Balance.objects.get(account__user=admin, asset__symbol="BTC").held) == (D(3), D(0))
    assert last_audit("funds.withdrawal_approve").actor_username == "cleo_admin"
    ledger_clean()


def test_withdrawal_above_the_threshold_needs_a_second_admin(admin_client, admin2_client, make_user, kyc_level, assets,
                                                            last_audit, ledger_clean):
    user = kyc_level(make_user("max", USD="5000"), 2)
    withdrawal = withdrawal_request(user=user, asset=assets["USD"], amount="4000", address="bank:IT60")
    admin_client.post(f"/console/funds/withdrawals/{withdrawal.pk}/approve", {"reason": "first look"})
    withdrawal.refresh_from_db()
    assert withdrawal.status == "requested"
    approval = ApprovalRequest.objects.get(withdrawal=withdrawal)
    admin_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "self"})
    assert Withdrawal.objects.get(pk=withdrawal.pk).status == "requested"
    admin2_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "second look"})
    withdrawal.refresh_from_db()
    assert withdrawal.status == "confirmed"
    assert (available(user), Balance.objects.get(account__user=user, asset__symbol="USD").held) == (D("1000"), D("0"))
    assert last_audit("funds.withdrawal_approve").after["ledger_entry"] is not None
    ledger_clean()


def test_withdrawal_reject_releases_the_hold(admin_client, make_user, kyc_level, assets, last_audit, ledger_clean):
    user = kyc_level(make_user("ned", USD="5000"), 2)
    withdrawal = withdrawal_request(user=user, asset=assets["USD"], amount="4000", address="bank:ES91")
    admin_client.post(f"/console/funds/withdrawals/{withdrawal.pk}/approve", {"reason": "first look"})
    admin_client.post(f"/console/funds/withdrawals/{withdrawal.pk}/reject", {"reason": "address on a sanctions list"})
    withdrawal.refresh_from_db()
    assert withdrawal.status == "rejected"
    assert ApprovalRequest.objects.get().status == "rejected"
    assert (available(user), Balance.objects.get(account__user=user, asset__symbol="USD").held) == (D("5000"), D("0"))
    assert last_audit("funds.withdrawal_reject").reason == "address on a sanctions list"
    ledger_clean()


def test_a_credit_is_checked_against_the_users_kyc_deposit_limit(admin_client, admin2_client, make_user, kyc_level,
                                                                 assets, settings, ledger_clean):
    settings.EXCHANGE_KYC_LIMITS = {"0": {"deposit_daily": "1000"}}
    user = make_user("otto")
    form = {"username": "otto", "asset": "USD", "reason": "wire"}
    too_much = admin_client.post("/console/funds/deposit", {**form, "amount": "1500", "reference": "w1"})
    assert (too_much.status_code, refusal_code(too_much)) == (403, "kyc_limit_exceeded")
    # 0.01 BTC is worth 500 USD at the reference price: two of them fit, a third would not.
    admin_client.post("/console/funds/deposit", {**form, "amount": "600", "reference": "w2"})
    admin_client.post("/console/funds/deposit", {**form, "asset": "BTC", "amount": "0.01", "reference": "w3"})
    first, second = ApprovalRequest.objects.order_by("pk")
    admin2_client.post(f"/console/funds/approvals/{first.pk}/approve", {"reason": "ok"})
    late = admin2_client.post(f"/console/funds/approvals/{second.pk}/approve", {"reason": "ok"})
    assert (late.status_code, refusal_code(late)) == (403, "kyc_limit_exceeded")  # checked again when credited
    assert (available(user), available(user, "BTC")) == (D("600"), D(0))
    kyc_level(user, 1)
    admin2_client.post(f"/console/funds/approvals/{second.pk}/approve", {"reason": "verified now"})
    assert available(user, "BTC") == D("0.01")
    ledger_clean()


def test_funds_page_lists_the_queues(admin_client, admin2_client, make_user, kyc_level, assets):
    user = kyc_level(make_user("olga", USD="5000"), 1)
    withdrawal_request(user=user, asset=assets["USD"], amount="10", address="bank:X")
    admin_client.post("/console/funds/adjust", {"username": "olga", "asset": "USD", "amount": "2000", "reason": "x"})
    mine = admin_client.get("/console/funds/")
    assert mine.status_code == 200
    assert b"yours: another admin approves" in mine.content
    assert b"BTC 1, ETH 0, USD 1000" in mine.content
    theirs = admin2_client.get("/console/funds/")
    assert len(theirs.context["pending"]) == 1
    assert len(theirs.context["withdrawals"]) == 1
