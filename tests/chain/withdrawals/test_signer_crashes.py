"""kill -9 of the real signer under 16 withdrawals, after every third transaction it recorded:
each nonce used once, each recipient paid exactly once, every hold consumed, and both
``verify_ledger`` and ``verify_reserves`` clean at the end."""
from decimal import Decimal as D

import pytest
from eth_account import Account

from tests.chain.withdrawals.conftest import balance, configure_assets
from tests.chain.withdrawals.signer_support import SignerProcess, fund, mine_until, new_hot_wallet, token_balance

pytestmark = pytest.mark.django_db(transaction=True)

WITHDRAWALS = 16
KILL_EVERY = 3  # signed transactions recorded


@pytest.fixture
def chain_rules(chain_settings, withdraw_settings, dev_token):
    return configure_assets(usdt_contract=dev_token, confirmations=3)


def test_kill_9_of_the_signer_never_sends_a_withdrawal_twice(w3, anvil, dev_token, trader, tmp_path, ledger_clean):
    from django.core.management import call_command

    from exchange.ledger import services as ledger
    from exchange.ledger.models import Withdrawal
    from exchange.withdrawals.models import SignedTransaction
    from exchange.withdrawals.services import withdrawal_create

    account, key_file = new_hot_wallet(tmp_path)
    # The hot wallet holds what the ledger owes (20 ETH and 50,000 USDT), plus gas money.
    fund(w3, account.address, eth_wei=25 * 10**18, token=dev_token, token_units=50_000 * 10**6)
    plan = []
    for n in range(WITHDRAWALS):
        asset, amount = ("ETH", D("0.1") + D(n) / 1000) if n % 2 == 0 else ("USDT", D(10 + n) + D("0.5"))
        to = Account.create().address
        withdrawal = withdrawal_create(user=trader, asset=asset, amount=amount, address=to)
        ledger.withdrawal_advance(withdrawal_id=withdrawal.pk, status="approved")
        plan.append((withdrawal.pk, asset, amount, to))

    kills = 0
    signer = None
    try:
        def start() -> SignerProcess:
            return SignerProcess(rpc_url=anvil.url, chain_id=anvil.chain_id, key_file=key_file,
                                 log_path=tmp_path / f"signer-{kills}.log")

        signer = start()
        # Kill after every KILL_EVERY-th recorded transaction, counted in the database: the
        # number of kills does not depend on how fast the box is, only on the work done.
        while kills < WITHDRAWALS // KILL_EVERY:
            threshold = (kills + 1) * KILL_EVERY
            mine_until(w3, lambda t=threshold: SignedTransaction.objects.count() >= t, process=signer,
                       message=f"{threshold} signed transactions")
            signer.kill()
            signer.log.close()
            kills += 1
            signer = start()
        mine_until(w3, lambda: not Withdrawal.objects.exclude(status="confirmed").exists(), process=signer,
                   message="every withdrawal confirmed")
    finally:
        if signer is not None:
            signer.stop()

    assert kills == WITHDRAWALS // KILL_EVERY
    nonces = list(Withdrawal.objects.values_list("nonce", flat=True))
    assert sorted(nonces) == list(range(WITHDRAWALS))  # each nonce given once, none skipped
    assert w3.eth.get_transaction_count(account.address) == WITHDRAWALS
    for pk, asset, amount, to in plan:
        paid = w3.eth.get_balance(to) if asset == "ETH" else token_balance(w3, dev_token, to)
        assert paid == int(amount * (10**18 if asset == "ETH" else 10**6)), (pk, asset, amount)
    eth_out = sum((a for _, s, a, _ in plan if s == "ETH"), D(0)) + D("0.0005") * 8
    usdt_out = sum((a for _, s, a, _ in plan if s == "USDT"), D(0)) + D(1) * 8
    assert balance(trader, "ETH") == (D(20) - eth_out, D(0))
    assert balance(trader, "USDT") == (D(50000) - usdt_out, D(0))
    ledger_clean()
    call_command("verify_reserves")  # exits 1 on a shortfall
