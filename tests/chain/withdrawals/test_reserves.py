"""``verify_reserves``: the hot wallet and the deposit addresses, read at one block, against what
the ledger owes users; a shortfall exits 1 with a report and stops the asset's withdrawals."""
import io
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from eth_account import Account

from tests.chain.withdrawals.conftest import RECIPIENT, configure_assets
from tests.chain.withdrawals.signer_support import fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain_rules(chain_settings, withdraw_settings, dev_token):
    return configure_assets(usdt_contract=dev_token, confirmations=3)


def _verify() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_reserves", "--network", "ethereum", stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code), out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


def test_short_reserves_exit_1_stop_withdrawals_and_resume_when_covered(w3, dev_token, trader):
    from exchange.chain.models import DepositAddress
    from exchange.errors import ExchangeError
    from exchange.withdrawals.models import ReserveReport, SignerAccount
    from exchange.withdrawals.services import withdrawal_create

    hot = Account.create().address
    SignerAccount.objects.create(network="ethereum", address=hot, next_nonce=0)
    deposit = Account.create().address
    DepositAddress.objects.create(user=trader, network="ethereum", derivation_index=0, address=deposit)
    # The ledger owes the trader 20 ETH and 50,000 USDT; the chain holds 12 + 3 ETH and 50,000 USDT.
    fund(w3, hot, eth_wei=12 * 10**18, token=dev_token, token_units=40_000 * 10**6)
    fund(w3, deposit, eth_wei=3 * 10**18, token=dev_token, token_units=10_000 * 10**6)
    code, report = _verify()
    assert code == 1
    assert "SHORT" in report
    assert "ETH" in report
    eth = ReserveReport.objects.filter(asset__symbol="ETH").latest("id")
    usdt = ReserveReport.objects.filter(asset__symbol="USDT").latest("id")
    assert (eth.on_chain, eth.liabilities, eth.short) == (D(15), D(20), True)
    assert (usdt.on_chain, usdt.liabilities, usdt.short) == (D(50000), D(50000), False)
    assert eth.height == usdt.height
    with pytest.raises(ExchangeError) as info:
        withdrawal_create(user=trader, asset="ETH", amount="1", address=RECIPIENT)
    assert (info.value.code, info.value.status) == ("withdrawals_suspended", 503)
    withdrawal_create(user=trader, asset="USDT", amount="5", address=RECIPIENT)  # USDT is covered
    fund(w3, hot, eth_wei=5 * 10**18)
    code, report = _verify()
    assert code == 0, report
    assert "reserves cover every asset" in report
    assert withdrawal_create(user=trader, asset="ETH", amount="1", address=RECIPIENT).status == "requested"
