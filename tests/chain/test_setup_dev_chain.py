"""``setup_dev_chain`` on a real anvil, and ``GET /api/v1/assets`` reading what it recorded."""
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def _setup() -> dict:
    out = io.StringIO()
    call_command("setup_dev_chain", stdout=out)
    return json.loads(out.getvalue())


def test_deploys_the_dev_token_once_and_records_both_assets(chain_settings, w3):
    from exchange.chain.devchain import dev_token
    from exchange.chain.models import ChainAsset

    first = _setup()
    token = dev_token(w3, first["USDT"])
    assert token.functions.decimals().call() == 6
    assert token.functions.symbol().call() == "USDT"
    assert _setup() == first  # idempotent: the recorded token is still on chain, so it is kept
    eth, usdt = ChainAsset.objects.get(asset__symbol="ETH"), ChainAsset.objects.get(asset__symbol="USDT")
    assert (eth.kind, eth.chain_decimals, eth.contract_address, eth.confirmations) == ("native", 18, "", 3)
    assert (usdt.kind, usdt.chain_decimals, usdt.contract_address, usdt.asset.decimals) == ("erc20", 6, first["USDT"], 6)
    assert (usdt.min_deposit, usdt.four_eyes_threshold) == (Decimal(1), Decimal(10000))


def test_the_deployer_can_mint(chain_settings, w3):
    from exchange.chain.devchain import dev_token, mint

    address = _setup()["USDT"]
    holder = w3.eth.accounts[5]
    before = dev_token(w3, address).functions.balanceOf(holder).call()
    w3.eth.wait_for_transaction_receipt(mint(w3, address, holder, 1_234_567))
    assert dev_token(w3, address).functions.balanceOf(holder).call() == before + 1_234_567


def test_a_token_recorded_on_a_chain_that_was_reset_is_deployed_again(chain_settings, w3):
    from exchange.chain.models import ChainAsset

    _setup()
    ChainAsset.objects.filter(asset__symbol="USDT").update(contract_address="0x" + "12" * 20)
    again = _setup()["USDT"]
    assert again != "0x" + "12" * 20
    assert len(w3.eth.get_code(again)) > 0


def test_a_configured_contract_is_recorded_without_deploying(chain_settings, w3, dev_token):
    chain_settings.ETH_USDT_CONTRACT = dev_token
    nonce = w3.eth.get_transaction_count(w3.eth.accounts[0])
    assert _setup() == {"USDT": dev_token}
    assert w3.eth.get_transaction_count(w3.eth.accounts[0]) == nonce


def test_a_node_on_another_chain_id_is_refused(chain_settings):
    from django.core.management.base import CommandError

    chain_settings.ETH_CHAIN_ID = 1
    with pytest.raises(CommandError, match="chain 31337"):
        _setup()


def test_assets_api_lists_networks_contracts_decimals_and_rules(chain_settings, client):
    token = _setup()["USDT"]
    from exchange.markets.services import asset_get_or_create

    asset_get_or_create(symbol="USD", name="US dollar", decimals=8)
    body = {a["symbol"]: a for a in client.get("/api/v1/assets").json()}
    assert body["USDT"] == {"symbol": "USDT", "name": "Tether USD", "decimals": 6, "network": "ethereum", "kind": "erc20",
                            "contract_address": token, "chain_decimals": 6, "confirmations": 3, "min_deposit": "1",
                            "min_withdrawal": "1", "withdrawal_fee": "1"}
    assert body["ETH"]["chain_decimals"] == 18
    assert body["ETH"]["contract_address"] is None
    assert body["ETH"]["min_deposit"] == "0.001"
    assert body["USD"]["network"] is None
