"""The withdrawal signer as a real process on a real anvil: withdrawals of ETH and the token
end ``confirmed`` with the recipient paid exactly, a reverted transfer ends ``failed`` with the
hold released, a stuck transaction is replaced and mined once, and nothing is signed that the
hot wallet cannot pay."""
from decimal import Decimal as D

import pytest
from eth_account import Account

from tests.chain.withdrawals.conftest import balance, configure_assets
from tests.chain.withdrawals.signer_support import SignerProcess, fund, mine_until, new_hot_wallet, token_balance

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chain_rules(chain_settings, withdraw_settings, dev_token):
    """This module's chain: the dev token on its anvil, 3 confirmations."""
    return configure_assets(usdt_contract=dev_token, confirmations=3)


@pytest.fixture
def start_signer(anvil, tmp_path):
    started = []

    def start(key_file, **overrides) -> SignerProcess:
        process = SignerProcess(rpc_url=anvil.url, chain_id=anvil.chain_id, key_file=key_file,
                                log_path=tmp_path / f"signer-{len(started)}.log", **overrides)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def hot_wallet(w3, dev_token, tmp_path):
    account, path = new_hot_wallet(tmp_path)
    fund(w3, account.address, eth_wei=30 * 10**18, token=dev_token, token_units=60_000 * 10**6)
    return account, path


def _approved(user, asset: str, amount: str, to: str):
    from exchange.ledger import services as ledger
    from exchange.withdrawals.services import withdrawal_create

    withdrawal = withdrawal_create(user=user, asset=asset, amount=amount, address=to)
    return ledger.withdrawal_advance(withdrawal_id=withdrawal.pk, status="approved")


def _status(pk: int) -> str:
    from exchange.ledger.models import Withdrawal

    return Withdrawal.objects.get(pk=pk).status


def test_eth_and_usdt_withdrawals_end_confirmed_with_the_recipient_paid_exactly(w3, dev_token, trader, hot_wallet,
                                                                                  start_signer, ledger_clean):
    from exchange.ledger.models import Balance

    eth_to, usdt_to = Account.create().address, Account.create().address
    eth = _approved(trader, "ETH", "1.234567890123456789", eth_to)
    usdt = _approved(trader, "USDT", "250.25", usdt_to)
    signer = start_signer(hot_wallet[1])
    mine_until(w3, lambda: _status(eth.pk) == _status(usdt.pk) == "confirmed", process=signer, message="confirmed")
    assert w3.eth.get_balance(eth_to) == 1_234_567_890_123_456_789
    assert token_balance(w3, dev_token, usdt_to) == 250_250_000
    assert balance(trader, "ETH") == (D("20") - D("1.234567890123456789") - D("0.0005"), D(0))
    assert balance(trader, "USDT") == (D("50000") - D("250.25") - D("1"), D(0))
    fees = {b.asset.symbol: b.available for b in Balance.objects.filter(account__kind="fees").select_related("asset")}
    assert fees == {"ETH": D("0.0005"), "USDT": D("1")}
    from exchange.ledger.models import Withdrawal

    mined = Withdrawal.objects.get(pk=eth.pk)
    assert w3.eth.get_transaction_receipt(mined.txid)["status"] == 1
    assert w3.eth.get_transaction_count(hot_wallet[0].address) == 2
    ledger_clean()


def test_a_reverted_token_transfer_ends_failed_with_the_hold_released(w3, dev_token, trader, hot_wallet, start_signer,
                                                                      ledger_clean):
    from exchange.chain.devchain import dev_token as token_contract

    contract = token_contract(w3, dev_token)
    w3.eth.wait_for_transaction_receipt(contract.functions.pause().transact({"from": w3.eth.accounts[0]}))
    try:
        to = Account.create().address
        usdt = _approved(trader, "USDT", "100", to)
        assert balance(trader, "USDT") == (D("49899"), D("101"))
        signer = start_signer(hot_wallet[1])
        mine_until(w3, lambda: _status(usdt.pk) == "failed", process=signer, message="failed")
    finally:
        w3.eth.wait_for_transaction_receipt(contract.functions.unpause().transact({"from": w3.eth.accounts[0]}))
    from exchange.ledger.models import Withdrawal

    failed = Withdrawal.objects.get(pk=usdt.pk)
    assert w3.eth.get_transaction_receipt(failed.txid)["status"] == 0
    assert "reverted" in failed.failure_reason
    assert token_balance(w3, dev_token, to) == 0
    assert balance(trader, "USDT") == (D("50000"), D(0))
    ledger_clean()


def test_a_stuck_transaction_is_replaced_at_a_higher_price_and_mined_once(w3, trader, hot_wallet, start_signer,
                                                                         ledger_clean):
    from exchange.withdrawals.models import SignedTransaction

    to = Account.create().address
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        eth = _approved(trader, "ETH", "2", to)
        signer = start_signer(hot_wallet[1], EXCHANGE_SIGNER_BUMP_AFTER_SECONDS="0.5")
        from tests.conftest import wait_until

        wait_until(lambda: SignedTransaction.objects.filter(withdrawal_id=eth.pk).count() >= 2, timeout=120,
                   message="a replacement")
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    mine_until(w3, lambda: _status(eth.pk) == "confirmed", process=signer, message="confirmed")
    attempts = list(SignedTransaction.objects.filter(withdrawal_id=eth.pk).order_by("id"))
    assert len({a.nonce for a in attempts}) == 1
    assert [int(a.gas_price) for a in attempts] == sorted(int(a.gas_price) for a in attempts)
    mined = [a for a in attempts if _receipt(w3, a.txid) is not None]
    assert len(mined) == 1
    assert w3.eth.get_balance(to) == 2 * 10**18
    assert w3.eth.get_transaction_count(hot_wallet[0].address) == 1
    ledger_clean()


def _receipt(w3, txid: str):
    from web3.exceptions import TransactionNotFound

    try:
        return w3.eth.get_transaction_receipt(txid)
    except TransactionNotFound:
        return None


def test_nothing_is_signed_that_the_hot_wallet_cannot_pay(w3, trader, tmp_path, start_signer, ledger_clean):
    from exchange.withdrawals.models import SignedTransaction, SignerAccount
    from tests.conftest import wait_until

    account, key_file = new_hot_wallet(tmp_path)
    fund(w3, account.address, eth_wei=10**17)  # 0.1 ETH: not enough for 1 ETH
    to = Account.create().address
    eth = _approved(trader, "ETH", "1", to)
    signer = start_signer(key_file)
    wait_until(lambda: "waits" in (SignerAccount.objects.filter(address=account.address)
                                   .values_list("state", flat=True).first() or ""), timeout=120, message="waiting")
    assert _status(eth.pk) == "approved"
    assert not SignedTransaction.objects.exists()
    fund(w3, account.address, eth_wei=2 * 10**18)
    mine_until(w3, lambda: _status(eth.pk) == "confirmed", process=signer, message="confirmed")
    assert w3.eth.get_balance(to) == 10**18
    ledger_clean()
