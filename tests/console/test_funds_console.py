"""Funds: deposits once per reference, manual adjustments and withdrawals with four eyes above
the threshold (the requester never approves their own), every action audited."""
from decimal import Decimal

import pytest

from exchange.console.models import ApprovalRequest
from exchange.ledger.models import Balance, LedgerEntry, Withdrawal
from exchange.ledger.services import withdrawal_request
from exchange.markets.models import Asset

D = Decimal


@pytest.fixture(autouse=True)
def _threshold(settings):
    settings.EXCHANGE_FOUR_EYES_THRESHOLD = "1000"
    settings.EXCHANGE_FOUR_EYES_THRESHOLDS = {"BTC": "1"}


def usd(user) -> Balance:
    return Balance.objects.get(account__user=user, asset__symbol="USD")


def entry_postings(entry: LedgerEntry) -> dict:
    return {(p.account.kind, p.bucket): p.amount for p in entry.postings.select_related("account")}


def test_deposit_is_credited_once_per_reference(admin_client, make_user, assets, last_audit, ledger_clean):
    user = make_user("gina")
    form = {"username": "gina", "asset": "USD", "amount": "250.5", "reference": "bank:TX-991", "reason": "wire received"}
    admin_client.post("/console/funds/deposit", form)
    response = admin_client.post("/console/funds/deposit", form, follow=True)
    assert usd(user).available == D("250.5")
    assert any("already credited" in str(m) for m in response.context["messages"])
    first, second = last_audit("funds.deposit"), last_audit("funds.deposit_duplicate")
    assert first.after == {"user": user.pk, "asset": "USD", "amount": "250.5", "reference": "bank:TX-991", "duplicate": False}
    assert (first.reason, first.ip) == ("wire received", "203.0.113.7")
    assert second.after["duplicate"] is True
    assert first.object_id == second.object_id  # the same ledger entry
    ledger_clean()


def test_adjustment_up_to_the_threshold_applies_at_once(admin_client, make_user, assets, last_audit, ledger_clean):
    user = make_user("hugo", USD="100")
    admin_client.post("/console/funds/adjust", {"username": "hugo", "asset": "USD", "amount": "-1000", "reason": "x"})
    assert usd(user).available == D("100")  # would go negative: refused, nothing written
    assert last_audit() is None
    admin_client.post("/console/funds/adjust",
                      {"username": "hugo", "asset": "USD", "amount": "-40", "reason": "fee refund reversal"})
    assert usd(user).available == D("60")
    entry = last_audit("funds.adjust")
    assert entry.after == {"user": user.pk, "asset": "USD", "amount": "-40"}
    ledger_entry = LedgerEntry.objects.get(pk=entry.object_id)
    assert entry_postings(ledger_entry) == {("user", "available"): D("-40"), ("external", "available"): D("40")}
    assert not ApprovalRequest.objects.exists()
    ledger_clean()


def test_four_eyes_the_requester_cannot_approve_their_own_adjustment(admin_client, admin2_client, admin, admin2,
                                                                     make_user, assets, last_audit, ledger_clean):
    user = make_user("ivy")
    admin_client.post("/console/funds/adjust", {"username": "ivy", "asset": "USD", "amount": "5000", "reason": "goodwill"})
    approval = ApprovalRequest.objects.get()
    assert (approval.status, approval.amount, approval.requested_by) == ("pending", D("5000"), admin)
    assert not Balance.objects.filter(account__user=user, asset__symbol="USD", available__gt=0).exists()
    assert last_audit("funds.adjustment_requested").after["threshold"] == "1000"

    response = admin_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "me again"}, follow=True)
    assert any("four_eyes" in str(m) for m in response.context["messages"])
    approval.refresh_from_db()
    assert approval.status == "pending"
    assert last_audit("funds.adjustment_approve") is None

    admin2_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "checked ticket 77"})
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == ("approved", admin2)
    assert usd(user).available == D("5000")
    assert entry_postings(approval.ledger_entry) == {("user", "available"): D("5000"), ("external", "available"): D("-5000")}
    assert sum(p.amount for p in approval.ledger_entry.postings.all()) == 0
    entry = last_audit("funds.adjustment_approve")
    assert (entry.actor_username, entry.reason) == ("bob_admin", "checked ticket 77")
    assert entry.before["requested_by"] == admin.pk
    ledger_clean()

    response = admin2_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "twice"}, follow=True)
    assert usd(user).available == D("5000")  # applied once


def test_per_asset_threshold(admin_client, make_user, assets):
    make_user("jack")
    admin_client.post("/console/funds/adjust", {"username": "jack", "asset": "BTC", "amount": "1.5", "reason": "x"})
    assert ApprovalRequest.objects.get().asset.symbol == "BTC"


def test_a_rejected_request_posts_nothing(admin_client, admin2_client, make_user, assets, last_audit):
    user = make_user("kim")
    admin_client.post("/console/funds/adjust", {"username": "kim", "asset": "USD", "amount": "2000", "reason": "x"})
    approval = ApprovalRequest.objects.get()
    admin2_client.post(f"/console/funds/approvals/{approval.pk}/reject", {"reason": "no ticket"})
    approval.refresh_from_db()
    assert approval.status == "rejected"
    assert not Balance.objects.filter(account__user=user, available__gt=0).exists()
    assert last_audit("funds.adjustment_reject").reason == "no ticket"


def test_withdrawal_up_to_the_threshold_completes_at_once(admin_client, make_user, assets, last_audit, ledger_clean):
    user = make_user("lea", USD="500")
    withdrawal = withdrawal_request(user=user, asset=Asset.objects.get(symbol="USD"), amount="300", address="bank:FR76")
    admin_client.post(f"/console/funds/withdrawals/{withdrawal.pk}/approve", {"reason": "KYC ok"})
    withdrawal.refresh_from_db()
    assert withdrawal.status == "completed"
    assert (usd(user).available, usd(user).held) == (D("200"), D("0"))
    entry = last_audit("funds.withdrawal_complete")
    assert (entry.before, entry.after["status"]) == ({"status": "pending"}, "completed")
    ledger_clean()


def test_withdrawal_above_the_threshold_needs_a_second_admin(admin_client, admin2_client, make_user, assets, last_audit,
                                                            ledger_clean):
    user = make_user("max", USD="5000")
    withdrawal = withdrawal_request(user=user, asset=Asset.objects.get(symbol="USD"), amount="4000", address="bank:IT60")
    admin_client.post(f"/console/funds/withdrawals/{withdrawal.pk}/approve", {"reason": "first look"})
    withdrawal.refresh_from_db()
    assert withdrawal.status == "pending"
    approval = ApprovalRequest.objects.get(withdrawal=withdrawal)
    admin_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "self"})
    assert Withdrawal.objects.get(pk=withdrawal.pk).status == "pending"
    admin2_client.post(f"/console/funds/approvals/{approval.pk}/approve", {"reason": "second look"})
    withdrawal.refresh_from_db()
    assert withdrawal.status == "completed"
    assert (usd(user).available, usd(user).held) == (D("1000"), D("0"))
    assert last_audit("funds.withdrawal_approve").after["ledger_entry"] is not None
    ledger_clean()


def test_withdrawal_reject_releases_the_hold(admin_client, make_user, assets, last_audit, ledger_clean):
    user = make_user("ned", USD="5000")
    withdrawal = withdrawal_request(user=user, asset=Asset.objects.get(symbol="USD"), amount="4000", address="bank:ES91")
    admin_client.post(f"/console/funds/withdrawals/{withdrawal.pk}/approve", {"reason": "first look"})
    admin_client.post(f"/console/funds/withdrawals/{withdrawal.pk}/reject", {"reason": "address on a sanctions list"})
    withdrawal.refresh_from_db()
    assert withdrawal.status == "rejected"
    assert ApprovalRequest.objects.get().status == "rejected"
    assert (usd(user).available, usd(user).held) == (D("5000"), D("0"))
    assert last_audit("funds.withdrawal_reject").reason == "address on a sanctions list"
    ledger_clean()


def test_funds_page_lists_the_queues(admin_client, admin2_client, make_user, assets):
    user = make_user("olga", USD="5000")
    withdrawal_request(user=user, asset=Asset.objects.get(symbol="USD"), amount="10", address="bank:X")
    admin_client.post("/console/funds/adjust", {"username": "olga", "asset": "USD", "amount": "2000", "reason": "x"})
    mine = admin_client.get("/console/funds/")
    assert mine.status_code == 200
    assert b"yours: another admin approves" in mine.content
    theirs = admin2_client.get("/console/funds/")
    assert len(theirs.context["pending"]) == 1
    assert len(theirs.context["withdrawals"]) == 1
