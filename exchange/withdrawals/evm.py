"""Building and signing Ethereum (EVM) transfers for the signer: the native coin, or an ERC-20
``transfer``. Legacy (type 0) transactions: one price to bump, accepted by every EVM node.

Only the signer process imports this with a key; nothing here talks to a node.
"""
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

NATIVE_GAS = 21_000
TRANSFER_SELECTOR = "a9059cbb"  # transfer(address,uint256)


@dataclass(frozen=True)
class SignedTx:
    txid: str
    raw: str  # 0x-hex of the signed bytes
    gas_price: int
    gas: int


def transfer_data(to: str, amount: int) -> str:
    """The calldata of ``transfer(to, amount)``."""
    return "0x" + TRANSFER_SELECTOR + to.lower().removeprefix("0x").rjust(64, "0") + format(amount, "064x")


def sign_transfer(account: LocalAccount, *, chain_id: int, nonce: int, to: str, amount: int, gas_price: int,
                  token: str | None, token_gas: int) -> SignedTx:
    """Sign a transfer of ``amount`` base units to ``to``: native when ``token`` is None, else a
    call of the token contract's ``transfer``. A fixed gas limit, never an estimate: a transfer
    that would revert (a paused token) is still sent and mined with status 0, so the withdrawal
    fails visibly instead of waiting forever on an estimate that cannot succeed."""
    if token is None:
        tx = {"to": to_checksum_address(to), "value": amount, "data": "0x", "gas": NATIVE_GAS}
    else:
        tx = {"to": to_checksum_address(token), "value": 0, "data": transfer_data(to, amount), "gas": token_gas}
    tx.update(nonce=nonce, gasPrice=gas_price, chainId=chain_id)
    signed = account.sign_transaction(tx)
    return SignedTx(txid="0x" + bytes(signed.hash).hex(), raw="0x" + bytes(signed.raw_transaction).hex(),
                    gas_price=gas_price, gas=int(tx["gas"]))


def account_from_key(key: str) -> LocalAccount:
    return Account.from_key(key.strip())
