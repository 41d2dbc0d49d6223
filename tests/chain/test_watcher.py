"""Acceptance: a real anvil, real ``run_chain_watcher`` processes, the real database and Redis.

Deposits are credited exactly once after 3 confirmations and exact to the last decimal;
foreign addresses and other tokens are ignored; reorganisations orphan, re-credit once, or
reverse and freeze; kill -9 of the watcher after every 6th deposit of a stream loses nothing and
credits nothing twice. Every wait polls with a generous timeout; faults are driven by count.
"""
from decimal import Decimal

import pytest

from exchange.chain import devchain

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TIMEOUT = 120


@pytest.fixture
def depositor(make_user, chain_assets):
    from exchange.chain.services import deposit_address_for_asset

    def make():
        user = make_user()
        user.deposit_address = deposit_address_for_asset(user=user, symbol="ETH")[1].address
        return user

    return make


def _deposits(user):
    from exchange.chain.models import Deposit

    return list(Deposit.objects.filter(user=user).order_by("id"))


def _available(user, symbol: str) -> Decimal:
    from exchange.ledger.models import Balance

    row = Balance.objects.filter(account__user=user, asset__symbol=symbol).first()
    return row.available if row else Decimal(0)


def _scanned(height: int):
    from exchange.chain.models import WatcherCursor

    return lambda: WatcherCursor.objects.filter(network="ethereum", height__gte=height).exists()


def _one(user, **fields):
    """The user's only deposit, once it has these field values."""
    def check():
        rows = _deposits(user)
        return rows[0] if len(rows) == 1 and all(getattr(rows[0], k) == v for k, v in fields.items()) else None
    return check


def _mined(w3, tx: str):
    return w3.eth.wait_for_transaction_receipt(tx, timeout=60)


def _signed_eth(w3, account, to: str, wei: int) -> bytes:
    tx = {"to": to, "value": wei, "gas": 21_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9,
          "nonce": w3.eth.get_transaction_count(account.address, "pending"), "chainId": 31337}
    return bytes(account.sign_transaction(tx).raw_transaction)


def test_eth_and_usdt_deposits_count_confirmations_and_are_credited_once_exactly(
        w3, dev_token, depositor, start_watcher, wait, client, ledger_clean):
    user, stranger = depositor(), w3.eth.accounts[7]
    other_token = devchain.deploy_dev_token(w3, symbol="OTHER")
    sender = w3.eth.accounts[1]
    _mined(w3, devchain.mint(w3, dev_token, sender, 10**12))
    _mined(w3, devchain.mint(w3, other_token, sender, 10**12))
    start_watcher()
    eth_tx = devchain.send_eth(w3, user.deposit_address, 1_234_567_890_123_456_789)
    _mined(w3, eth_tx)
    pending = wait(_one(user, status="pending", confirmations=1), timeout=TIMEOUT, message="ETH pending, 1 confirmation")
    assert pending.txid == eth_tx.lower()
    devchain.mine(w3)
    wait(_one(user, status="pending", confirmations=2), timeout=TIMEOUT, message="2 confirmations")
    assert _available(user, "ETH") == 0
    devchain.mine(w3)
    wait(_one(user, status="credited", confirmations=3), timeout=TIMEOUT, message="ETH credited")
    assert _available(user, "ETH") == Decimal("1.234567890123456789")

    # The token, and what must be ignored: ETH to a stranger, another ERC-20 to our address.
    _mined(w3, devchain.send_eth(w3, stranger, 10**18))
    _mined(w3, devchain.send_token(w3, other_token, user.deposit_address, 5_000_000))
    usdt_tx = devchain.send_token(w3, dev_token, user.deposit_address, 12_345_678)
    _mined(w3, usdt_tx)
    devchain.mine(w3, 5)
    wait(_scanned(w3.eth.block_number), timeout=TIMEOUT, message="the watcher at the tip")
    wait(lambda: len(_deposits(user)) == 2 and all(d.status == "credited" for d in _deposits(user)),
         timeout=TIMEOUT, message="USDT credited")
    assert _available(user, "USDT") == Decimal("12.345678")
    assert _available(user, "ETH") == Decimal("1.234567890123456789")
    from exchange.chain.models import Deposit
    from exchange.ledger.models import LedgerEntry

    assert Deposit.objects.count() == 2  # nothing for the stranger, nothing of the other token
    assert LedgerEntry.objects.filter(idempotency_key__startswith="deposit:chain:").count() == 2

    client.force_login(user)
    body = client.get("/api/v1/deposits").json()
    assert [(d["asset"], d["amount"], d["status"], d["confirmations"] >= 3, d["required_confirmations"])
            for d in body["results"]] == [("USDT", "12.345678", "credited", True, 3),
                                          ("ETH", "1.234567890123456789", "credited", True, 3)]
    assert body["results"][0]["txid"] == usdt_tx.lower()
    ledger_clean()


def test_shallow_reorg_orphans_then_the_same_tx_re_mined_is_credited_once(
        w3, depositor, start_watcher, wait, outsider, ledger_clean):
    user = depositor()
    start_watcher()
    snapshot = devchain.snapshot(w3)
    raw = _signed_eth(w3, outsider, user.deposit_address, 3 * 10**17)
    txid = w3.eth.send_raw_transaction(raw).to_0x_hex().lower()
    _mined(w3, txid)
    devchain.mine(w3)  # 2 confirmations of the 3 required
    first = wait(_one(user, status="pending", confirmations=2), timeout=TIMEOUT, message="pending at 2")
    assert devchain.revert(w3, snapshot)
    devchain.mine(w3, 4)  # a longer, different chain without the transaction
    wait(_one(user, status="orphaned"), timeout=TIMEOUT, message="orphaned")
    assert _available(user, "ETH") == 0

    assert w3.eth.send_raw_transaction(raw).to_0x_hex().lower() == txid  # the very same bytes
    _mined(w3, txid)
    devchain.mine(w3, 2)
    again = wait(_one(user, status="credited"), timeout=TIMEOUT, message="re-mined and credited")
    assert (again.pk, again.credit_count) == (first.pk, 1)
    devchain.mine(w3, 3)
    wait(_scanned(w3.eth.block_number), timeout=TIMEOUT, message="the watcher at the tip")
    assert _available(user, "ETH") == Decimal("0.3")
    ledger_clean()


def test_reorg_deeper_than_the_confirmations_reverses_the_credit_and_freezes(
        w3, depositor, start_watcher, wait, ledger_clean):
    from exchange.accounts.models import Profile, UserStatus
    from exchange.chain.models import ReorgReview

    user = depositor()
    start_watcher()
    snapshot = devchain.snapshot(w3)
    _mined(w3, devchain.send_eth(w3, user.deposit_address, 5 * 10**17))
    devchain.mine(w3, 3)
    wait(_one(user, status="credited"), timeout=TIMEOUT, message="credited")
    assert _available(user, "ETH") == Decimal("0.5")
    assert devchain.revert(w3, snapshot)
    devchain.mine(w3, 6)
    wait(_one(user, status="orphaned"), timeout=TIMEOUT, message="orphaned after the deep reorg")
    assert _available(user, "ETH") == 0
    review = ReorgReview.objects.get(user=user)
    assert (review.amount, review.reversed_amount, review.shortfall) == (Decimal("0.5"), Decimal("0.5"), Decimal(0))
    assert Profile.objects.get(user=user).status == UserStatus.FROZEN
    ledger_clean()


def test_kill_9_after_every_6th_deposit_credits_each_once(w3, dev_token, depositor, start_watcher, wait, ledger_clean):
    from exchange.chain.models import Deposit
    from exchange.ledger.models import LedgerEntry

    users = [depositor() for _ in range(3)]
    sender = w3.eth.accounts[1]
    _mined(w3, devchain.mint(w3, dev_token, sender, 10**12))
    watcher = start_watcher()
    expected = {(u.pk, s): Decimal(0) for u in users for s in ("ETH", "USDT")}
    kills = 0
    for n in range(30):
        user = users[n % 3]
        if n % 2:
            tx = devchain.send_token(w3, dev_token, user.deposit_address, 1_000_000 + n)
            expected[(user.pk, "USDT")] += Decimal(1_000_000 + n) / 10**6
        else:
            tx = devchain.send_eth(w3, user.deposit_address, 10**16 + n)
            expected[(user.pk, "ETH")] += Decimal(10**16 + n) / 10**18
        _mined(w3, tx)
        if n % 3 == 0:
            devchain.mine(w3)
        if (n + 1) % 6 == 0:
            watcher.kill()
            kills += 1
            watcher = start_watcher()
    assert kills == 5
    devchain.mine(w3, 3)
    wait(lambda: Deposit.objects.filter(status="credited").count() == 30, timeout=TIMEOUT, message="30 credited")
    devchain.mine(w3, 2)
    wait(_scanned(w3.eth.block_number), timeout=TIMEOUT, message="the watcher at the tip")
    assert Deposit.objects.count() == 30
    assert LedgerEntry.objects.filter(idempotency_key__startswith="deposit:chain:").count() == 30
    for (user_id, symbol), amount in expected.items():
        user = next(u for u in users if u.pk == user_id)
        assert _available(user, symbol) == amount, (user_id, symbol)
    ledger_clean()


def _lock_holders() -> list[int]:
    """Backends of this test database holding a chain watcher's lock (other databases' watchers,
    e.g. another test worker's, have locks of their own)."""
    from django.db import connection

    from exchange.chain.watcher import LOCK_NAMESPACE

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s "
                       "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                       [LOCK_NAMESPACE])
        return [row[0] for row in cursor.fetchall()]


def test_one_watcher_per_network_holds_the_lock(depositor, start_watcher, wait, w3):
    user = depositor()
    first, second = start_watcher(), start_watcher()

    def holders() -> int:
        return len(_lock_holders())

    wait(lambda: holders() == 1 and ("waiting for its lock" in first.output() + second.output()),
         timeout=TIMEOUT, message="one holder, one waiting")
    _mined(w3, devchain.send_eth(w3, user.deposit_address, 10**16))
    devchain.mine(w3, 3)
    wait(_one(user, status="credited"), timeout=TIMEOUT, message="credited")
    assert holders() == 1


def test_the_watcher_waits_out_a_missing_node(depositor, start_watcher, wait, tmp_path, dev_token):
    from exchange.chain.devchain import AnvilNode, free_port, web3_for

    port = free_port()
    user = depositor()
    watcher = start_watcher(rpc_url=f"http://127.0.0.1:{port}", start_height=0)  # a chain of its own
    wait(lambda: "node unavailable" in watcher.output(), timeout=TIMEOUT, message="the watcher backing off")
    assert watcher.process.poll() is None
    node = AnvilNode(port=port, log_path=tmp_path / "late-anvil.log")
    try:
        late = web3_for(node.url)
        _mined(late, devchain.send_eth(late, user.deposit_address, 2 * 10**16))
        devchain.mine(late, 3)
        wait(_one(user, status="credited"), timeout=TIMEOUT, message="credited once the node is up")
        assert _available(user, "ETH") == Decimal("0.02")
    finally:
        node.stop()


def test_the_watcher_survives_losing_its_database_connection(depositor, start_watcher, wait, w3, ledger_clean):
    from django.db import connection

    user = depositor()
    watcher = start_watcher()
    holder = wait(lambda: _lock_holders(), timeout=TIMEOUT, message="the watcher holding its lock")[0]
    with connection.cursor() as cursor:  # as a database restart or a network cut would
        cursor.execute("SELECT pg_terminate_backend(%s)", [holder])
    _mined(w3, devchain.send_eth(w3, user.deposit_address, 4 * 10**16))
    devchain.mine(w3, 3)
    wait(_one(user, status="credited"), timeout=TIMEOUT, message="credited after the reconnection")
    assert "database unavailable" in watcher.output()
    assert watcher.process.poll() is None
    assert len(_lock_holders()) == 1
    assert _lock_holders() != [holder]  # a new session took the lock again
    assert _available(user, "ETH") == Decimal("0.04")
    ledger_clean()
