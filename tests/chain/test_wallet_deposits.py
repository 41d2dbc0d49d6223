"""The wallet page's deposit panel (address, server-rendered QR code, deposits) and deposit frames
on the private WebSocket: to their owner only, after the watcher's transaction commits."""
import asyncio
import base64

import pytest
from asgiref.sync import sync_to_async

from exchange.chain.adapters.base import NATIVE_INDEX, Transfer
from tests.marketdata.conftest import communicator, receive


@pytest.fixture
def chain_assets(db):
    from exchange.chain.services import ethereum_assets_configure

    eth, usdt = ethereum_assets_configure(usdt_contract="0x" + "AB" * 20, confirmations=3)
    return {"ETH": eth, "USDT": usdt}


def _deposit(user, chain_asset, *, block: int = 10):
    from exchange.chain.deposits import deposit_record
    from exchange.chain.models import DepositAddress

    address = DepositAddress.objects.get(user=user)
    return deposit_record(network="ethereum", chain_asset=chain_asset, user_id=user.pk, transfer=Transfer(
        txid="0x" + f"{user.pk:x}".rjust(64, "0"), index=NATIVE_INDEX, block_number=block, block_hash="0xaa",
        to_address=address.address, from_address=None, token=None, amount=25 * 10**16))


@pytest.mark.django_db
def test_the_wallet_shows_the_deposit_address_its_qr_code_and_the_deposits(client, make_user, chain_assets):
    from exchange.chain.models import DepositAddress

    user = make_user()
    client.force_login(user)
    page = client.get("/wallet/").content.decode()
    address = DepositAddress.objects.get(user=user).address
    assert f'data-testid="deposit-address">{address}<' in page
    qr = page.split('src="data:image/svg+xml;base64,', 1)[1].split('"', 1)[0]
    assert base64.b64decode(qr).lstrip().startswith((b"<?xml", b"<svg"))
    assert "ETH and USDT on Ethereum" in page
    assert "credited after 3 confirmations" in page
    assert 'id="deposits" hidden' in page  # no deposits yet

    deposit = _deposit(user, chain_assets["ETH"])
    page = client.get("/wallet/").content.decode()
    assert f'data-deposit-id="{deposit.pk}"' in page
    assert ">0.25<" in page
    assert ">0/3<" in page


@pytest.mark.django_db
def test_without_an_xpub_the_wallet_says_deposits_are_unavailable(client, make_user, chain_assets, settings):
    settings.ETH_DEPOSIT_XPUB = ""
    client.force_login(make_user())
    page = client.get("/wallet/").content.decode()
    assert "deposits are not configured" in page
    assert "deposit-address" not in page


@pytest.mark.django_db(transaction=True)
def test_deposit_updates_reach_their_owner_on_the_private_stream(make_user, chain_assets, redis_url):
    from django.db import connections, transaction

    from exchange.chain.deposits import deposits_confirm
    from exchange.chain.push import deposits_push_after_commit
    from exchange.chain.services import deposit_address_for_asset
    from tests.marketdata.test_user_stream import session_cookie

    alice, bob = make_user(), make_user()
    for user in (alice, bob):
        deposit_address_for_asset(user=user, symbol="ETH")

    def credit_alices_deposit():
        with transaction.atomic():
            deposits_push_after_commit([_deposit(alice, chain_assets["ETH"])])
        with transaction.atomic():
            deposits_push_after_commit(deposits_confirm(network="ethereum", height=12))

    async def scenario():
        sockets = {}
        for name, user in (("alice", alice), ("bob", bob)):
            sockets[name] = communicator("/ws/user/", await sync_to_async(session_cookie)(user))
            await sockets[name].connect()
            assert (await receive(sockets[name]))["type"] == "subscribed"
        await sync_to_async(credit_alices_deposit)()
        frames = [await receive(sockets["alice"], 20) for _ in range(2)]
        quiet = await sockets["bob"].receive_nothing(timeout=1)
        for comm in sockets.values():
            await comm.disconnect()
        await sync_to_async(connections.close_all)()  # the worker thread's own connection
        return frames, quiet

    frames, bob_heard_nothing = asyncio.run(scenario())
    assert [(f["type"], f["deposit"]["status"], f["deposit"]["confirmations"]) for f in frames] == [
        ("deposit", "pending", 0), ("deposit", "credited", 3)]
    assert frames[1]["deposit"]["amount"] == "0.25"
    assert frames[1]["deposit"]["required_confirmations"] == 3
    assert bob_heard_nothing
