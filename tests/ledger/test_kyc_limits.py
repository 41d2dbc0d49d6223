"""KYC tiers restrict withdrawals (issue 20, item 5): tier 0 may not withdraw, higher tiers up to a
per-request and a rolling 24-hour limit in USD, with assets valued at the higher of their last
trade and the reference price; two concurrent requests cannot both pass a daily limit."""
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from exchange.errors import ExchangeError
from exchange.ledger.limits import asset_value, limits_summary, tier_limits
from exchange.ledger.models import Balance, Withdrawal
from exchange.ledger.services import withdrawal_reject, withdrawal_request
from exchange.markets.models import Market

D = Decimal
LIMITS = {"1": {"withdraw_request": "1000", "withdraw_daily": "1500", "deposit_daily": "5000"}}


@pytest.fixture(autouse=True)
def _limits(settings, prices):
    settings.EXCHANGE_KYC_LIMITS = LIMITS


def refused(call) -> ExchangeError:
    with pytest.raises(ExchangeError) as info:
        call()
    return info.value


def test_a_level_0_user_cannot_withdraw(make_user, assets, ledger_clean):
    user = make_user(USD="5000", BTC="1")
    for symbol, amount in (("USD", "1"), ("BTC", "0.00000001")):
        error = refused(lambda s=symbol, a=amount: withdrawal_request(user=user, asset=assets[s], amount=a,
                                                                       address="dest"))
        assert (error.code, error.status) == ("kyc_withdrawals_not_allowed", 403)
    assert not Withdrawal.objects.exists()
    assert Balance.objects.get(account__user=user, asset=assets["USD"]).held == 0
    ledger_clean()


def test_the_per_request_limit_counts_the_assets_usd_value(make_user, kyc_level, assets, ledger_clean):
    user = kyc_level(make_user(USD="5000", BTC="1"), 1)
    error = refused(lambda: withdrawal_request(user=user, asset=assets["USD"], amount="1000.01", address="dest"))
    assert (error.code, error.status) == ("kyc_limit_exceeded", 403)
    # 0.021 BTC at the 50,000 USD reference price is 1,050 USD: above the 1,000 per request.
    assert refused(lambda: withdrawal_request(user=user, asset=assets["BTC"], amount="0.021",
                                              address="bc1q")).code == "kyc_limit_exceeded"
    withdrawal = withdrawal_request(user=user, asset=assets["BTC"], amount="0.02", address="bc1q")
    assert withdrawal.quote_value == D("1000")
    ledger_clean()


def test_the_daily_limit_counts_every_request_of_24_hours(make_user, kyc_level, assets, ledger_clean):
    user = kyc_level(make_user(USD="5000", BTC="1"), 1)
    first = withdrawal_request(user=user, asset=assets["USD"], amount="900", address="dest")
    error = refused(lambda: withdrawal_request(user=user, asset=assets["BTC"], amount="0.0121", address="bc1q"))
    assert error.code == "kyc_limit_exceeded"  # 900 + 605 > 1500
    assert "600" in error.message  # what is left
    withdrawal_request(user=user, asset=assets["BTC"], amount="0.011", address="bc1q")  # 900 + 550 fits
    assert refused(lambda: withdrawal_request(user=user, asset=assets["USD"], amount="50.01",
                                              address="dest")).code == "kyc_limit_exceeded"
    # A rejected withdrawal gives its allowance back; one older than 24 hours no longer counts.
    withdrawal_reject(withdrawal_id=first.pk)
    withdrawal_request(user=user, asset=assets["USD"], amount="900", address="dest")
    Withdrawal.objects.filter(user=user).update(created_at=first.created_at - timedelta(hours=25))
    withdrawal_request(user=user, asset=assets["USD"], amount="1000", address="dest")
    assert Withdrawal.objects.filter(user=user).exclude(status="rejected").count() == 3
    ledger_clean()


def test_a_higher_tier_allows_more(make_user, kyc_level, assets, ledger_clean):
    user = make_user(USD="60000")
    assert refused(lambda: withdrawal_request(user=kyc_level(user, 1), asset=assets["USD"], amount="40000",
                                              address="d")).code == "kyc_limit_exceeded"
    withdrawal_request(user=kyc_level(user, 2), asset=assets["USD"], amount="40000", address="d")
    assert tier_limits(0).may_withdraw is False
    assert [tier_limits(n).withdraw_daily for n in (1, 2, 3)] == sorted(tier_limits(n).withdraw_daily for n in (1, 2, 3))
    ledger_clean()


def test_assets_are_valued_at_the_higher_of_last_trade_and_reference(market, make_user, kyc_level, assets, settings):
    assert asset_value(assets["BTC"], D("0.01")) == D("500")  # reference 50,000, no trade yet
    Market.objects.filter(pk=market.pk).update(last_price=D("70000"))
    assert asset_value(assets["BTC"], D("0.01")) == D("700")
    Market.objects.filter(pk=market.pk).update(last_price=D("1"))  # a silly trade on a thin book
    assert asset_value(assets["BTC"], D("0.01")) == D("500")
    settings.EXCHANGE_REFERENCE_PRICES = {}
    assert asset_value(assets["BTC"], D("0.01")) == D("0.01")
    Market.objects.filter(pk=market.pk).update(last_price=None)
    user = kyc_level(make_user(BTC="1"), 3)
    error = refused(lambda: withdrawal_request(user=user, asset=assets["BTC"], amount="0.1", address="bc1q"))
    assert (error.code, error.status) == ("kyc_no_price", 403)  # an asset without any price is not let through


def test_the_wallet_summary_shows_tier_and_what_is_left(make_user, kyc_level, assets):
    user = kyc_level(make_user(USD="2000"), 1)
    withdrawal_request(user=user, asset=assets["USD"], amount="700", address="d")
    summary = limits_summary(user=user)
    assert (summary["level"], summary["quote"], summary["withdrawn"], summary["withdraw_left"]) == (1, "USD", D(700),
                                                                                                    D(800))
    assert (summary["deposited"], summary["deposit_left"]) == (D(2000), D(3000))


def _request_in_thread(user, asset, amount, results: list, barrier: threading.Barrier) -> None:
    try:
        barrier.wait(timeout=10)
        withdrawal_request(user=user, asset=asset, amount=amount, address="dest")
        results.append("ok")
    except ExchangeError as exc:
        results.append(exc.code)
    except BaseException as exc:
        results.append(repr(exc))
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", range(5))
def test_concurrent_requests_cannot_both_pass_the_daily_limit(run, make_user, kyc_level, assets, ledger_clean):
    """Each 900 fits the 1,000 per request; both together pass the 1,500 of 24 hours. Without the
    lock both threads read "nothing withdrawn yet" and both pass."""
    user = kyc_level(make_user(f"racer{run}", USD="5000"), 1)
    results: list = []
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=_request_in_thread, args=(user, assets["USD"], "900", results, barrier))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["kyc_limit_exceeded", "ok"]
    assert Withdrawal.objects.filter(user=user).count() == 1
    assert Balance.objects.get(account__user=user, asset=assets["USD"]).held == D(900)
    ledger_clean()
