"""The signer never exits on an outage: with its node down it backs off and retries, and once the
node answers it pays the withdrawal waiting for it."""
from decimal import Decimal as D

import pytest
from eth_account import Account

from tests.chain.withdrawals.conftest import balance, configure_assets
from tests.chain.withdrawals.signer_support import SignerProcess, fund, mine_until, new_hot_wallet
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chain_rules(withdraw_settings):
    # Token-free: the node this test starts late has no token contract.
    return configure_assets(confirmations=2)


def test_a_signer_whose_node_is_down_backs_off_and_pays_once_it_is_back(trader, tmp_path, ledger_clean):
    from exchange.chain.devchain import AnvilNode, free_port, web3_for
    from exchange.ledger import services as ledger
    from exchange.withdrawals.services import withdrawal_create

    port = free_port()
    account, key_file = new_hot_wallet(tmp_path)
    to = Account.create().address
    withdrawal = withdrawal_create(user=trader, asset="ETH", amount="0.75", address=to)
    ledger.withdrawal_advance(withdrawal_id=withdrawal.pk, status="approved")
    signer = SignerProcess(rpc_url=f"http://127.0.0.1:{port}", chain_id=31337, key_file=key_file,
                           log_path=tmp_path / "signer.log")
    node = None
    try:
        wait_until(lambda: signer.output().count("retrying") >= 3, timeout=120, message="three retries")
        assert signer.process.poll() is None
        node = AnvilNode(port=port, log_path=tmp_path / "anvil.log")
        w3 = web3_for(node.url)
        fund(w3, account.address, eth_wei=2 * 10**18)
        mine_until(w3, lambda: type(withdrawal).objects.get(pk=withdrawal.pk).status == "confirmed", process=signer,
                   message="confirmed after the node came back")
        assert w3.eth.get_balance(to) == 75 * 10**16
    finally:
        signer.stop()
        if node is not None:
            node.stop()
    assert balance(trader, "ETH") == (D(20) - D("0.75") - D("0.0005"), D(0))
    ledger_clean()
