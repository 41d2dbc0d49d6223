"""``manage.py setup_dev_chain``: ETH and USDT as chain assets; on a dev chain, the dev token.

Idempotent: a token already recorded and still on the chain is kept; one recorded on a chain that
was reset (no code at its address) is deployed again. With ``ETH_USDT_CONTRACT`` set (a testnet or
mainnet), that contract is recorded and nothing is deployed. Prints ``{"USDT": "0x..."}``.
"""
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from exchange.chain import devchain
from exchange.chain.models import ChainAsset
from exchange.chain.services import ethereum_assets_configure


class Command(BaseCommand):
    help = "Record ETH and USDT as chain assets; deploy the dev token on a dev chain (idempotent)."

    def handle(self, *args, **options):
        w3 = devchain.web3_for(settings.ETH_RPC_URL)
        try:
            chain_id = w3.eth.chain_id
        except Exception as exc:
            raise CommandError(f"no Ethereum node at {settings.ETH_RPC_URL}: {exc}") from exc
        if chain_id != settings.ETH_CHAIN_ID:
            raise CommandError(f"the node at {settings.ETH_RPC_URL} is chain {chain_id}, "
                               f"ETH_CHAIN_ID says {settings.ETH_CHAIN_ID}")
        token = settings.ETH_USDT_CONTRACT
        if not token:
            recorded = ChainAsset.objects.filter(asset__symbol="USDT").values_list("contract_address", flat=True).first()
            if recorded and devchain.has_code(w3, recorded):
                token = recorded
            elif chain_id != devchain.DEV_CHAIN_ID:
                raise CommandError("ETH_USDT_CONTRACT is not set and this is not a dev chain: set the token's address")
            else:
                token = devchain.deploy_dev_token(w3)
        ethereum_assets_configure(usdt_contract=w3.to_checksum_address(token), confirmations=settings.ETH_CONFIRMATIONS)
        self.stdout.write(json.dumps({"USDT": w3.to_checksum_address(token)}))
