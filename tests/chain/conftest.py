"""Chain test fixtures: a real anvil per test module, and the chain assets configured against it."""
import pytest


@pytest.fixture(scope="module")
def anvil(tmp_path_factory):
    """A real anvil node on a free port, one per test module (it starts in well under a second)."""
    from exchange.chain.devchain import AnvilNode

    node = AnvilNode(log_path=tmp_path_factory.mktemp("anvil") / "anvil.log")
    yield node
    node.stop()


@pytest.fixture(scope="module")
def w3(anvil):
    from exchange.chain.devchain import web3_for

    return web3_for(anvil.url)


@pytest.fixture(scope="module")
def dev_token(w3):
    """The dev USDT (6 decimals) deployed on this module's anvil."""
    from exchange.chain.devchain import deploy_dev_token

    return deploy_dev_token(w3)


@pytest.fixture
def chain_settings(settings, anvil):
    settings.ETH_RPC_URL = anvil.url
    settings.ETH_CHAIN_ID = anvil.chain_id
    settings.ETH_USDT_CONTRACT = ""
    return settings


def _watcher(*, rpc_url: str, start_height: int, redis_url: str, log_path):
    """A real ``manage.py run_chain_watcher`` against the test database and an anvil."""
    from tests.conftest import ManageProcess

    return ManageProcess(["run_chain_watcher"], redis_url=redis_url, log_path=log_path, ETH_RPC_URL=rpc_url,
                         ETH_CHAIN_ID="31337", CHAIN_WATCHER_START_HEIGHT=str(start_height),
                         CHAIN_WATCHER_POLL_SECONDS="0.1", DJANGO_DEBUG="true")


@pytest.fixture
def start_watcher(redis_url, tmp_path, w3):
    """Start watchers that scan from the chain's next block (earlier tests' transfers are history)."""
    started: list = []
    first_height = w3.eth.block_number + 1

    def start(*, rpc_url: str | None = None, start_height: int | None = None):
        from django.conf import settings

        process = _watcher(rpc_url=rpc_url or settings.ETH_RPC_URL,
                           start_height=first_height if start_height is None else start_height,
                           redis_url=redis_url, log_path=tmp_path / f"watcher-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def chain_assets(chain_settings, dev_token):
    """ETH and the module's dev USDT as chain assets (3 confirmations)."""
    from exchange.chain.services import ethereum_assets_configure

    eth, usdt = ethereum_assets_configure(usdt_contract=dev_token, confirmations=3)
    return {"ETH": eth, "USDT": usdt}


@pytest.fixture(scope="module")
def outsider(w3):
    """An outside account with a known key (anvil's third dev account): it signs its own
    transactions, so a test can broadcast the very same bytes again after a reorg."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic("test test test test test test test test test test test junk",
                                 account_path="m/44'/60'/0'/0/2")
