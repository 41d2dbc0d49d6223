"""``ChainAdapter`` for Ethereum (and any EVM chain) over JSON-RPC with web3.py 7.

Native deposits are transactions whose ``to`` is ours, with value, and a successful receipt;
token deposits are ERC-20 ``Transfer`` logs of the listed contracts whose indexed ``to`` is ours
(a log exists only for a successful call, and a foreign contract's logs are never asked for).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import requests
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import BlockNotFound, ProviderConnectionError, TimeExhausted, TransactionNotFound

from exchange.chain.adapters.base import NATIVE_INDEX, ChainAdapter, NodeUnavailable, Receipt, Transfer

# keccak256("Transfer(address,address,uint256)")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
T = TypeVar("T")


def _node_call(method: Callable[..., T]) -> Callable[..., T]:
    """Connection-level failures become ``NodeUnavailable``; the node's own answers pass through."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except (requests.RequestException, ProviderConnectionError, TimeExhausted, ConnectionError) as exc:
            raise NodeUnavailable(str(exc)) from exc

    return wrapper


def _hex(value: Any) -> str:
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value)
    return text if text.startswith("0x") else "0x" + text


def _topic_address(topic: Any) -> str:
    return to_checksum_address("0x" + _hex(topic)[-40:])


def address_topic(address: str) -> str:
    """An address as an indexed topic: left-padded to 32 bytes."""
    return "0x" + "0" * 24 + address.lower().removeprefix("0x")


def decode_transfer_log(log: dict) -> Transfer | None:
    """An ERC-20 ``Transfer`` log as a ``Transfer``; None for anything else (another event, an
    ERC-721 transfer whose amount is indexed, a log removed by a reorg)."""
    topics = [_hex(t) for t in log.get("topics", [])]
    if log.get("removed") or len(topics) != 3 or topics[0].lower() != TRANSFER_TOPIC:
        return None
    data = _hex(log.get("data", "0x"))
    if len(data) != 66:
        return None
    return Transfer(txid=_hex(log["transactionHash"]), index=int(log["logIndex"]), block_number=int(log["blockNumber"]),
                    block_hash=_hex(log["blockHash"]), to_address=_topic_address(topics[2]),
                    from_address=_topic_address(topics[1]), token=to_checksum_address(log["address"]),
                    amount=int(data, 16))


class EthereumAdapter(ChainAdapter):
    network = "ethereum"

    def __init__(self, rpc_url: str, *, chain_id: int | None = None, timeout: float = 10.0) -> None:
        # No automatic retries inside web3: the caller backs off, and a dead node must show quickly.
        provider = Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
        self.w3 = Web3(provider)
        self.rpc_url = rpc_url
        self.chain_id = chain_id

    @classmethod
    def from_web3(cls, w3: Web3) -> EthereumAdapter:
        """Over an existing Web3 (the unit tests' in-process eth-tester chain)."""
        adapter = cls.__new__(cls)
        adapter.w3, adapter.rpc_url, adapter.chain_id = w3, "", None
        return adapter

    @_node_call
    def latest_height(self) -> int:
        return int(self.w3.eth.block_number)

    @_node_call
    def block_hash(self, height: int) -> str | None:
        try:
            return _hex(self.w3.eth.get_block(height)["hash"])
        except BlockNotFound:
            return None

    @_node_call
    def transfers_to(self, addresses: set[str], *, from_height: int, to_height: int,
                     tokens: set[str]) -> list[Transfer]:
        if not addresses or to_height < from_height:
            return []
        ours = {a.lower() for a in addresses}
        found = self._native_transfers(ours, range(from_height, to_height + 1))
        if tokens:
            found += self._token_transfers(ours, from_height, to_height, tokens)
        return sorted(found, key=lambda t: (t.block_number, t.index if t.index >= 0 else -1, t.txid))

    def _native_transfers(self, ours: set[str], heights: Iterable[int]) -> list[Transfer]:
        found = []
        for height in heights:
            block = self.w3.eth.get_block(height, full_transactions=True)
            for tx in block["transactions"]:
                to = tx.get("to")
                if not to or to.lower() not in ours or int(tx["value"]) == 0:
                    continue
                receipt = self.w3.eth.get_transaction_receipt(tx["hash"])
                if receipt["status"] != 1:
                    continue
                found.append(Transfer(txid=_hex(tx["hash"]), index=NATIVE_INDEX, block_number=int(block["number"]),
                                      block_hash=_hex(block["hash"]), to_address=to_checksum_address(to),
                                      from_address=to_checksum_address(tx["from"]), token=None, amount=int(tx["value"])))
        return found

    def _token_transfers(self, ours: set[str], from_height: int, to_height: int, tokens: set[str]) -> list[Transfer]:
        logs = self.w3.eth.get_logs({
            "fromBlock": from_height, "toBlock": to_height,
            "address": [to_checksum_address(t) for t in sorted(tokens)],
            "topics": [TRANSFER_TOPIC, None, [address_topic(a) for a in sorted(ours)]],
        })
        decoded = (decode_transfer_log(dict(log)) for log in logs)
        return [t for t in decoded if t is not None and t.to_address.lower() in ours and t.amount > 0]

    @_node_call
    def balance(self, address: str, *, token: str | None = None, height: int | None = None) -> int:
        block = "latest" if height is None else height
        if token is None:
            return int(self.w3.eth.get_balance(to_checksum_address(address), block_identifier=block))
        data = "0x70a08231" + address_topic(address)[2:]  # balanceOf(address)
        result = self.w3.eth.call({"to": to_checksum_address(token), "data": data}, block_identifier=block)
        return int.from_bytes(result, "big") if result else 0

    @_node_call
    def send_raw_transaction(self, raw: bytes) -> str:
        return _hex(self.w3.eth.send_raw_transaction(raw))

    @_node_call
    def receipt(self, txid: str) -> Receipt | None:
        try:
            r = self.w3.eth.get_transaction_receipt(txid)
        except TransactionNotFound:
            return None
        if r is None or r.get("blockNumber") is None:
            return None
        fee = int(r.get("gasUsed", 0)) * int(r.get("effectiveGasPrice", 0))
        return Receipt(txid=_hex(r["transactionHash"]), block_number=int(r["blockNumber"]), block_hash=_hex(r["blockHash"]),
                       success=r["status"] == 1, fee_paid=fee)

    @_node_call
    def nonce(self, address: str, *, pending: bool = True) -> int:
        return int(self.w3.eth.get_transaction_count(to_checksum_address(address), "pending" if pending else "latest"))

    @_node_call
    def gas_price(self) -> int:
        return int(self.w3.eth.gas_price)
