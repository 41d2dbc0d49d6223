"""The deposit state machine against the real database, driven by hand-made transfers (no node):
pending -> credited after confirmations, exactly once; orphaned by a reorg and back to pending
when re-mined; a credited deposit orphaned is reversed as far as available allows and frozen."""
from decimal import Decimal

import pytest

from exchange.chain.adapters.base import NATIVE_INDEX, Transfer

pytestmark = pytest.mark.django_db
TOKEN = "0x" + "ab" * 20


@pytest.fixture
def eth(db):
    from exchange.chain.services import ethereum_assets_configure

    eth, _usdt = ethereum_assets_configure(usdt_contract="0x" + "AB" * 20, confirmations=3)
    return eth


@pytest.fixture
def depositor(make_user, eth):
    from exchange.chain.services import deposit_address_for_asset

    user = make_user()
    _, address = deposit_address_for_asset(user=user, symbol="ETH")
    user.deposit_address = address.address
    return user


def _transfer(user, *, block: int, block_hash: str = "0xaa", txid: str = "0x01", amount: int = 2 * 10**18) -> Transfer:
    return Transfer(txid=txid, index=NATIVE_INDEX, block_number=block, block_hash=block_hash,
                    to_address=user.deposit_address, from_address=None, token=None, amount=amount)


def _balance(user, symbol="ETH"):
    from exchange.ledger.models import Balance

    row = Balance.objects.filter(account__user=user, asset__symbol=symbol).first()
    return (row.available, row.held) if row else (Decimal(0), Decimal(0))


def test_credited_once_after_the_required_confirmations(eth, depositor, ledger_clean):
    from exchange.chain.deposits import deposit_record, deposits_confirm
    from exchange.chain.models import Deposit

    deposit = deposit_record(network="ethereum", transfer=_transfer(depositor, block=10), chain_asset=eth,
                             user_id=depositor.pk)
    assert (deposit.status, deposit.amount) == ("pending", Decimal(2))
    assert deposit_record(network="ethereum", transfer=_transfer(depositor, block=10), chain_asset=eth,
                          user_id=depositor.pk) is None  # seen again (a restart): nothing changes
    for height, (confirmations, status) in zip(range(10, 13), [(1, "pending"), (2, "pending"), (3, "credited")],
                                               strict=True):
        deposits_confirm(network="ethereum", height=height)
        deposit.refresh_from_db()
        assert (deposit.confirmations, deposit.status) == (confirmations, status)
    deposits_confirm(network="ethereum", height=20)
    assert Deposit.objects.count() == 1
    assert _balance(depositor) == (Decimal(2), Decimal(0))
    ledger_clean()


def test_orphaned_pending_deposit_comes_back_when_re_mined_and_is_credited_once(eth, depositor, ledger_clean):
    from exchange.chain.deposits import deposit_record, deposits_confirm, deposits_orphan_above

    deposit = deposit_record(network="ethereum", transfer=_transfer(depositor, block=10), chain_asset=eth,
                             user_id=depositor.pk)
    deposits_confirm(network="ethereum", height=11)
    assert [d.pk for d in deposits_orphan_above(network="ethereum", height=9)] == [deposit.pk]
    deposit.refresh_from_db()
    assert (deposit.status, deposit.credited, deposit.confirmations) == ("orphaned", False, 0)
    again = deposit_record(network="ethereum", transfer=_transfer(depositor, block=12, block_hash="0xbb"), chain_asset=eth,
                           user_id=depositor.pk)
    assert (again.pk, again.status, again.block_number) == (deposit.pk, "pending", 12)
    deposits_confirm(network="ethereum", height=20)
    deposits_confirm(network="ethereum", height=21)
    assert _balance(depositor) == (Decimal(2), Decimal(0))
    ledger_clean()


def test_deep_reorg_reverses_what_is_available_records_the_shortfall_and_freezes(eth, depositor, ledger_clean):
    from exchange.accounts.models import UserStatus
    from exchange.chain.deposits import deposit_record, deposits_confirm, deposits_orphan_above
    from exchange.chain.models import ReorgReview
    from exchange.ledger.services import hold_place

    deposit_record(network="ethereum", transfer=_transfer(depositor, block=10), chain_asset=eth, user_id=depositor.pk)
    deposits_confirm(network="ethereum", height=12)
    hold_place(user=depositor, asset=eth.asset, amount="0.5", hold="test:spent")  # e.g. in an open order
    deposits_orphan_above(network="ethereum", height=9)
    review = ReorgReview.objects.get(user=depositor)
    assert (review.amount, review.reversed_amount, review.shortfall) == (Decimal(2), Decimal("1.5"), Decimal("0.5"))
    assert _balance(depositor) == (Decimal(0), Decimal("0.5"))
    depositor.profile.refresh_from_db()
    assert depositor.profile.status == UserStatus.FROZEN
    ledger_clean()


def test_freezing_after_a_deep_reorg_cancels_open_orders(eth, depositor, make_user):
    from exchange.chain.deposits import deposit_record, deposits_confirm, deposits_orphan_above
    from exchange.markets.services import asset_get_or_create, market_create
    from exchange.trading.models import Command, CommandKind
    from exchange.trading.services import order_place

    usd = asset_get_or_create(symbol="USD", name="US dollar", decimals=8)
    market_create(base=eth.asset, quote=usd, tick_size="0.01", lot_size="0.001", min_notional="1")
    deposit_record(network="ethereum", transfer=_transfer(depositor, block=10), chain_asset=eth, user_id=depositor.pk)
    deposits_confirm(network="ethereum", height=12)
    order_place(user=depositor, market="ETH-USD", side="sell", quantity="1", price="3000")
    deposits_orphan_above(network="ethereum", height=9)
    cancel = Command.objects.get(kind=CommandKind.CANCEL_USER)
    assert (cancel.market.symbol, cancel.payload["user_id"]) == ("ETH-USD", depositor.pk)


def test_below_the_minimum_deposit_is_not_recorded(eth, depositor):
    from exchange.chain.deposits import deposit_record

    assert deposit_record(network="ethereum", transfer=_transfer(depositor, block=10, amount=10**14), chain_asset=eth,
                          user_id=depositor.pk) is None


def test_one_address_per_user_and_network_in_derivation_order(make_user, eth, settings):
    from exchange.chain.hd import derive_address
    from exchange.chain.services import deposit_address_for_asset

    users = [make_user() for _ in range(3)]
    addresses = [deposit_address_for_asset(user=u, symbol="ETH")[1] for u in users]
    assert [a.derivation_index for a in addresses] == [0, 1, 2]
    assert [a.address for a in addresses] == [derive_address(settings.ETH_DEPOSIT_XPUB, i) for i in range(3)]
    assert deposit_address_for_asset(user=users[1], symbol="ETH")[1].pk == addresses[1].pk  # stable
    # USDT shares ETH's network, so the same address.
    assert deposit_address_for_asset(user=users[1], symbol="USDT")[1].pk == addresses[1].pk


def test_the_watcher_does_not_scan_past_deposits_before_the_assets_exist(chain_settings, w3):
    from exchange.chain.adapters.ethereum import EthereumAdapter
    from exchange.chain.devchain import mine
    from exchange.chain.models import WatcherCursor
    from exchange.chain.watcher import ChainWatcher

    mine(w3, 3)
    first = w3.eth.block_number - 2
    watcher = ChainWatcher(EthereumAdapter(chain_settings.ETH_RPC_URL), start_height=first)
    assert watcher.step() is False
    assert WatcherCursor.objects.get(network="ethereum").height == first - 1  # nothing scanned yet


def test_an_amount_finer_than_the_ledger_keeps_is_not_recorded(eth, depositor):
    from exchange.chain.deposits import deposit_record

    eth.asset.decimals = 8  # a venue that keeps ETH to 8 places
    eth.asset.save()
    assert deposit_record(network="ethereum", transfer=_transfer(depositor, block=10, amount=10**18 + 1), chain_asset=eth,
                          user_id=depositor.pk) is None
    kept = deposit_record(network="ethereum", transfer=_transfer(depositor, block=10, txid="0x02", amount=10**18 + 10**10),
                          chain_asset=eth, user_id=depositor.pk)
    assert kept.amount == Decimal("1.00000001")
