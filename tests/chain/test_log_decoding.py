"""The Ethereum adapter on an in-process chain (eth-tester): which transfers count as deposits."""
import pytest
from web3 import EthereumTesterProvider, Web3

from exchange.chain.adapters.base import NATIVE_INDEX
from exchange.chain.adapters.ethereum import TRANSFER_TOPIC, EthereumAdapter, decode_transfer_log
from exchange.chain.devchain import deploy_dev_token, dev_token, mint


@pytest.fixture(scope="module")
def chain():
    w3 = Web3(EthereumTesterProvider())
    return w3, EthereumAdapter.from_web3(w3), deploy_dev_token(w3), deploy_dev_token(w3, symbol="OTHER")


def _wait(w3, tx):
    return w3.eth.wait_for_transaction_receipt(tx)


def test_native_and_token_transfers_to_our_addresses_only(chain):
    w3, adapter, usdt, other = chain
    ours, foreign, funder = w3.eth.accounts[2], w3.eth.accounts[3], w3.eth.accounts[0]
    start = w3.eth.block_number + 1
    native = _wait(w3, w3.eth.send_transaction({"from": funder, "to": ours, "value": 10**18 + 7}))
    _wait(w3, w3.eth.send_transaction({"from": funder, "to": foreign, "value": 5}))
    token = _wait(w3, mint(w3, usdt, ours, 1_500_001))
    _wait(w3, mint(w3, usdt, foreign, 9))
    _wait(w3, mint(w3, other, ours, 11))  # another ERC-20 to our address: not asked for
    found = adapter.transfers_to({ours.lower()}, from_height=start, to_height=w3.eth.block_number, tokens={usdt})
    assert [(t.txid, t.index, t.token, t.amount, t.to_address) for t in found] == [
        (native["transactionHash"].to_0x_hex(), NATIVE_INDEX, None, 10**18 + 7, ours),
        (token["transactionHash"].to_0x_hex(), token["logs"][0]["logIndex"], usdt, 1_500_001, ours),
    ]
    assert found[0].block_hash == native["blockHash"].to_0x_hex()
    assert adapter.balance(ours, token=usdt) == 1_500_001
    assert adapter.block_hash(native["blockNumber"]) == native["blockHash"].to_0x_hex()
    assert adapter.block_hash(w3.eth.block_number + 100) is None


def test_decode_transfer_log_reads_from_to_and_amount(chain):
    w3, _, usdt, _ = chain
    holder, to = w3.eth.accounts[4], w3.eth.accounts[5]
    _wait(w3, mint(w3, usdt, holder, 10**12))
    receipt = _wait(w3, dev_token(w3, usdt).functions.transfer(to, 123_456).transact({"from": holder}))
    transfer = decode_transfer_log(dict(receipt["logs"][0]))
    assert (transfer.from_address, transfer.to_address, transfer.amount, transfer.token) == (holder, to, 123_456, usdt)


def test_decode_ignores_other_events_removed_logs_and_indexed_amounts():
    base = {"transactionHash": "0x" + "11" * 32, "logIndex": 1, "blockNumber": 5, "blockHash": "0x" + "22" * 32,
            "address": "0x" + "33" * 20, "data": "0x" + "00" * 31 + "05",
            "topics": [TRANSFER_TOPIC, "0x" + "00" * 12 + "44" * 20, "0x" + "00" * 12 + "55" * 20]}
    assert decode_transfer_log(base).amount == 5
    assert decode_transfer_log({**base, "removed": True}) is None
    assert decode_transfer_log({**base, "topics": ["0x" + "99" * 32, *base["topics"][1:]]}) is None
    # ERC-721 Transfer: the token id is a fourth topic and there is no data.
    assert decode_transfer_log({**base, "data": "0x", "topics": [*base["topics"], "0x" + "00" * 32]}) is None
