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
