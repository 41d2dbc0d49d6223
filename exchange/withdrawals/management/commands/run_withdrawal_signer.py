"""``manage.py run_withdrawal_signer [--network ethereum]``: the only process with the hot-wallet
key (``EXCHANGE_HOT_WALLET_KEY_FILE`` or ``EXCHANGE_HOT_WALLET_KEY``; see
``exchange.withdrawals.custody``). Signs, broadcasts, bumps and confirms withdrawals, and checks
the reserves every ``EXCHANGE_RESERVES_CHECK_SECONDS``; never exits on an outage."""
import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from exchange.withdrawals.custody import CustodyError, hot_wallet_key_load


class Command(BaseCommand):
    help = "Sign and send approved withdrawals (holds the hot-wallet key)."

    def add_arguments(self, parser):
        parser.add_argument("--network", default="ethereum")

    def handle(self, *args, network: str, **options):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        try:
            key = hot_wallet_key_load()
        except CustodyError as exc:
            raise CommandError(str(exc)) from None
        from exchange.chain.adapters import NodeUnavailable, adapter_for
        from exchange.withdrawals.devfund import dev_hot_wallet_top_up
        from exchange.withdrawals.evm import account_from_key
        from exchange.withdrawals.reserves import reserves_check
        from exchange.withdrawals.signer import Signer, SignerConfig, run_forever

        account = account_from_key(key)
        del key
        adapter = adapter_for(network)
        chain_id = settings.ETH_CHAIN_ID
        while chain_id is None:
            try:
                chain_id = int(adapter.w3.eth.chain_id)  # type: ignore[attr-defined]
            except (NodeUnavailable, OSError) as exc:
                self.stderr.write(f"signer: node unavailable ({exc}); retrying")
                time.sleep(2)
        signer = Signer(adapter=adapter, account=account, config=SignerConfig.from_settings(network, chain_id))
        self.stdout.write(f"signer: hot wallet {account.address} on {network} (chain id {chain_id})")
        try:
            dev_hot_wallet_top_up(adapter, account.address, chain_id=chain_id)
        except Exception as exc:  # a convenience of the dev chain: never a reason not to sign
            self.stderr.write(f"signer: dev top-up skipped ({exc})")
        every = float(settings.EXCHANGE_RESERVES_CHECK_SECONDS)
        last = [0.0]

        def reserves() -> None:
            if every > 0 and time.monotonic() - last[0] >= every:
                reserves_check(network=network, adapter=adapter)
                last[0] = time.monotonic()

        run_forever(signer, poll=float(settings.EXCHANGE_SIGNER_POLL_SECONDS), reserves=reserves)
