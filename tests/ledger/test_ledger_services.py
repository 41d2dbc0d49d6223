"""Each ledger service: its postings, its balances, and that bad input changes nothing."""
from decimal import Decimal

import pytest

from exchange.errors import ExchangeError
from exchange.ledger.models import Balance, LedgerEntry, Posting, WithdrawalStatus
from exchange.ledger.services import (
    account_for_user,
    balance_adjust,
    deposit_credit,
    hold_place,
    hold_release,
    hold_remaining,
    trade_settle,
    withdrawal_complete,
    withdrawal_reject,
    withdrawal_request,
)

D = Decimal


def balance(user, asset) -> tuple[Decimal, Decimal]:
    row = Balance.objects.filter(account=account_for_user(user), asset=asset).first()
    return (row.available, row.held) if row else (D(0), D(0))


def test_deposit_credits_available_once_per_reference(make_user, assets, ledger_clean):
    user = make_user()
    first = deposit_credit(user=user, asset=assets["USD"], amount="100.5", reference="bank-1")
    again = deposit_credit(user=user, asset=assets["USD"], amount="100.5", reference="bank-1")
    assert first.pk == again.pk
    assert balance(user, assets["USD"]) == (D("100.5"), 0)
    assert sorted(Posting.objects.filter(entry=first).values_list("amount", flat=True)) == [D("-100.5"), D("100.5")]
    ledger_clean()


def test_hold_and_release_move_between_buckets(make_user, assets, ledger_clean):
    user = make_user(USD="100")
    hold_place(user=user, asset=assets["USD"], amount="60", hold="hold:1")
    assert balance(user, assets["USD"]) == (D(40), D(60))
    hold_release(user=user, asset=assets["USD"], amount="25", hold="hold:1")
    assert balance(user, assets["USD"]) == (D(65), D(35))
    assert hold_remaining(user=user, asset=assets["USD"], hold="hold:1") == D(35)
    ledger_clean()


def test_a_hold_cannot_exceed_available(make_user, assets, ledger_clean):
    user = make_user(USD="10")
    with pytest.raises(ExchangeError) as info:
        hold_place(user=user, asset=assets["USD"], amount="10.00000001", hold="hold:1")
    assert info.value.code == "insufficient_funds"
    assert balance(user, assets["USD"]) == (D(10), 0)
    ledger_clean()


def test_a_release_cannot_exceed_its_own_hold(make_user, assets, ledger_clean):
    user = make_user(USD="100")
    hold_place(user=user, asset=assets["USD"], amount="30", hold="hold:1")
    hold_place(user=user, asset=assets["USD"], amount="30", hold="hold:2")
    with pytest.raises(ExchangeError) as info:
        hold_release(user=user, asset=assets["USD"], amount="31", hold="hold:1")
    assert info.value.code == "insufficient_hold"
    assert balance(user, assets["USD"]) == (D(40), D(60))
    ledger_clean()


def test_trade_settles_at_price_with_fees_in_the_received_asset(make_user, assets, ledger_clean):
    buyer = make_user(USD="1000")
    seller = make_user(BTC="1")
    btc, usd = assets["BTC"], assets["USD"]
    hold_place(user=buyer, asset=usd, amount="505", hold="hold:1")  # 0.5 BTC at a limit of 1010
    hold_place(user=seller, asset=btc, amount="0.5", hold="hold:2")
    trade_settle(
        buyer=buyer, seller=seller, base=btc, quote=usd, price="1000", quantity="0.5",
        buyer_fee_rate="0.002", seller_fee_rate="0.001", buyer_hold="hold:1", seller_hold="hold:2",
        buyer_limit_price="1010", reference="trade:1",
    )
    # Buyer paid 500 from the hold, got 5 back (price improvement), received 0.5 BTC less 0.001 fee.
    assert balance(buyer, usd) == (D(500), D(0))
    assert balance(buyer, btc) == (D("0.499"), D(0))
    # Seller delivered 0.5 BTC from the hold and received 500 USD less 0.5 fee.
    assert balance(seller, btc) == (D("0.5"), D(0))
    assert balance(seller, usd) == (D("499.5"), D(0))
    fees = Posting.objects.filter(account__kind="fees")
    assert {(p.asset.symbol, p.amount) for p in fees} == {("BTC", D("0.001")), ("USD", D("0.5"))}
    ledger_clean()


def test_fees_round_down_to_the_asset_decimals(make_user, assets, ledger_clean):
    buyer = make_user(USD="10")
    seller = make_user(BTC="1")
    btc, usd = assets["BTC"], assets["USD"]
    hold_place(user=buyer, asset=usd, amount="0.03", hold="hold:1")
    hold_place(user=seller, asset=btc, amount="0.00000003", hold="hold:2")
    trade_settle(
        buyer=buyer, seller=seller, base=btc, quote=usd, price="1000000", quantity="0.00000003",
        buyer_fee_rate="0.002", seller_fee_rate="0.002", buyer_hold="hold:1", seller_hold="hold:2", reference="trade:1",
    )
    assert balance(buyer, btc) == (D("0.00000003"), D(0))  # 0.002 x 3 satoshi rounds down to 0
    assert balance(seller, usd) == (D("0.02994"), D(0))
    ledger_clean()


def test_trade_cannot_take_more_than_the_hold(make_user, assets, ledger_clean):
    buyer = make_user(USD="1000")
    seller = make_user(BTC="1")
    hold_place(user=buyer, asset=assets["USD"], amount="100", hold="hold:1")
    hold_place(user=seller, asset=assets["BTC"], amount="1", hold="hold:2")
    entries = LedgerEntry.objects.count()
    with pytest.raises(ExchangeError):
        trade_settle(
            buyer=buyer, seller=seller, base=assets["BTC"], quote=assets["USD"], price="200", quantity="1",
            buyer_fee_rate="0", seller_fee_rate="0", buyer_hold="hold:1", seller_hold="hold:2", reference="trade:1",
        )
    assert LedgerEntry.objects.count() == entries
    ledger_clean()


def test_withdrawal_holds_then_completes(make_user, kyc_level, prices, assets, ledger_clean):
    user = kyc_level(make_user(BTC="1"), 2)
    withdrawal = withdrawal_request(user=user, asset=assets["BTC"], amount="0.4", address="bc1qxyz")
    assert balance(user, assets["BTC"]) == (D("0.6"), D("0.4"))
    withdrawal_complete(withdrawal_id=withdrawal.pk)
    assert balance(user, assets["BTC"]) == (D("0.6"), D(0))
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.CONFIRMED
    with pytest.raises(ExchangeError) as info:
        withdrawal_complete(withdrawal_id=withdrawal.pk)
    assert info.value.code == "withdrawal_not_pending"
    ledger_clean()


def test_rejected_withdrawal_gives_the_funds_back(make_user, kyc_level, prices, assets, ledger_clean):
    user = kyc_level(make_user(BTC="1"), 2)
    withdrawal = withdrawal_request(user=user, asset=assets["BTC"], amount="1", address="bc1qxyz")
    withdrawal_reject(withdrawal_id=withdrawal.pk)
    assert balance(user, assets["BTC"]) == (D(1), D(0))
    ledger_clean()


def test_withdrawal_of_more_than_available_writes_nothing(make_user, kyc_level, prices, assets, ledger_clean):
    from exchange.ledger.models import Withdrawal

    user = kyc_level(make_user(BTC="1"), 3)
    with pytest.raises(ExchangeError) as info:
        withdrawal_request(user=user, asset=assets["BTC"], amount="1.1", address="bc1qxyz")
    assert info.value.code == "insufficient_funds"
    assert not Withdrawal.objects.exists()
    ledger_clean()


def test_adjustment_needs_a_reason_and_cannot_overdraw(make_user, assets, ledger_clean):
    user = make_user(USD="10")
    balance_adjust(user=user, asset=assets["USD"], amount="-4", reason="duplicate bank credit")
    assert balance(user, assets["USD"]) == (D(6), D(0))
    with pytest.raises(ExchangeError):
        balance_adjust(user=user, asset=assets["USD"], amount="-7", reason="too much")
    with pytest.raises(ExchangeError):
        balance_adjust(user=user, asset=assets["USD"], amount="1", reason=" ")
    ledger_clean()


BAD_AMOUNTS = ["-1", "0", "0.000000000", "NaN", "sNaN", "Infinity", "-Infinity", "1.000000001", "1e400",
               "99999999999999999999", "", "one", 1.5, None, True]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
@pytest.mark.parametrize("service", ["deposit", "hold", "release", "withdrawal"])
def test_bad_amounts_are_refused_and_change_nothing(make_user, assets, ledger_clean, amount, service):
    user = make_user(USD="100")
    hold_place(user=user, asset=assets["USD"], amount="50", hold="hold:1")
    before = (LedgerEntry.objects.count(), balance(user, assets["USD"]))
    usd = assets["USD"]
    calls = {
        "deposit": lambda: deposit_credit(user=user, asset=usd, amount=amount, reference="x"),
        "hold": lambda: hold_place(user=user, asset=usd, amount=amount, hold="hold:2"),
        "release": lambda: hold_release(user=user, asset=usd, amount=amount, hold="hold:1"),
        "withdrawal": lambda: withdrawal_request(user=user, asset=usd, amount=amount, address="addr"),
    }
    with pytest.raises(ExchangeError) as info:
        calls[service]()
    assert info.value.status == 400
    assert info.value.code.startswith(("invalid_amount", "amount_"))
    assert (LedgerEntry.objects.count(), balance(user, assets["USD"])) == before
    ledger_clean()
