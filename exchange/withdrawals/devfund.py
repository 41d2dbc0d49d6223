"""Development only: on the local anvil chain (chain id 31337, ``DJANGO_DEBUG``), the signer tops
its hot wallet up so that `make run`'s withdrawals can be paid: ETH by ``anvil_setBalance``, the
dev token by minting from anvil's first (unlocked) account, the dev token's deployer. Uses only
the hot wallet's public address; never runs against any other chain."""
import logging

from django.conf import settings

from exchange.chain.models import ChainAsset

log = logging.getLogger("exchange.signer")
DEV_CHAIN_ID = 31337
ETH_FLOOR = 1_000 * 10**18
TOKEN_FLOOR_UNITS = 1_000_000


def dev_hot_wallet_top_up(adapter, address: str, *, chain_id: int) -> None:
    if not settings.DEBUG or chain_id != DEV_CHAIN_ID or not settings.EXCHANGE_DEV_FUND_HOT_WALLET:
        return
    from exchange.chain.devchain import has_code, mint

    w3 = adapter.w3
    if adapter.balance(address) < ETH_FLOOR:
        w3.provider.make_request("anvil_setBalance", [address, hex(ETH_FLOOR)])
        log.info("signer: dev chain: hot wallet %s topped up to 1000 ETH", address)
    for chain in ChainAsset.objects.filter(network=adapter.network).exclude(contract_address=""):
        floor = TOKEN_FLOOR_UNITS * 10**chain.chain_decimals
        if has_code(w3, chain.contract_address) and adapter.balance(address, token=chain.contract_address) < floor:
            w3.eth.wait_for_transaction_receipt(mint(w3, chain.contract_address, address, floor))
            log.info("signer: dev chain: minted %s %s to the hot wallet", TOKEN_FLOOR_UNITS, chain.asset_id)
