"""``manage.py run_chain_watcher [--network ethereum]``: follow the chain, credit deposits."""
from django.conf import settings
from django.core.management.base import BaseCommand

from exchange.chain.adapters import adapter_for
from exchange.chain.watcher import ChainWatcher, run_until_stopped


class Command(BaseCommand):
    help = "Follow the chain: record deposits, credit them after confirmations, handle reorgs."

    def add_arguments(self, parser):
        parser.add_argument("--network", default="ethereum")

    def handle(self, *args, network: str, **options):
        watcher = ChainWatcher(adapter_for(network), start_height=settings.CHAIN_WATCHER_START_HEIGHT,
                               batch_blocks=settings.CHAIN_WATCHER_BATCH_BLOCKS,
                               poll_seconds=settings.CHAIN_WATCHER_POLL_SECONDS)
        run_until_stopped(watcher)
