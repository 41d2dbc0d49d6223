"""The boundary between the venue and a chain node.

Shaped so that an account chain (Ethereum) and a UTXO chain (Bitcoin, Litecoin) both fit: a
transfer is identified by (txid, index), where the index is a log index on Ethereum (-1 for the
native value of a transaction) and an output index (vout) on a UTXO chain; amounts are integers in
base units; heights and block hashes are what a reorg check compares. Everything that talks to the
node raises ``NodeUnavailable`` when the node cannot answer, so callers can back off and retry.
"""
from abc import ABC, abstractmethod
from dataclasses import dataclass

NATIVE_INDEX = -1


class NodeUnavailable(Exception):
    """The node did not answer (down, timing out, or mid-restart): retry later."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """Value arriving at an address in a block: ``token`` is the contract address, None for the
    chain's native coin; ``amount`` is in base units."""

    txid: str
    index: int
    block_number: int
    block_hash: str
    to_address: str
    from_address: str | None
    token: str | None
    amount: int


@dataclass(frozen=True, slots=True)
class Receipt:
    """A mined transaction: where it is, and whether it succeeded (status 1 on Ethereum)."""

    txid: str
    block_number: int
    block_hash: str
    success: bool
    fee_paid: int = 0


class ChainAdapter(ABC):
    """What the watcher, the signer and the reserve check need from a node; nothing more."""

    network: str

    @abstractmethod
    def latest_height(self) -> int:
        """The height of the node's newest block."""

    @abstractmethod
    def block_hash(self, height: int) -> str | None:
        """The canonical block hash at ``height`` (0x-hex), or None above the tip."""

    @abstractmethod
    def transfers_to(self, addresses: set[str], *, from_height: int, to_height: int,
                     tokens: set[str]) -> list[Transfer]:
        """Every successful transfer of the native coin or of one of ``tokens`` to one of
        ``addresses`` in blocks ``from_height..to_height`` (inclusive), in chain order."""

    @abstractmethod
    def balance(self, address: str, *, token: str | None = None, height: int | None = None) -> int:
        """The balance of ``address`` in base units (native, or of the ``token`` contract), at
        block ``height`` or the latest."""

    @abstractmethod
    def send_raw_transaction(self, raw: bytes) -> str:
        """Broadcast signed bytes; returns the txid. Rebroadcasting the same bytes is harmless."""

    @abstractmethod
    def receipt(self, txid: str) -> Receipt | None:
        """The receipt of a mined transaction, None while it is not mined (or unknown)."""

    @abstractmethod
    def nonce(self, address: str, *, pending: bool = True) -> int:
        """The next nonce of ``address`` (counting pending transactions unless ``pending`` is
        False). A UTXO chain has none and returns 0."""

    @abstractmethod
    def gas_price(self) -> int:
        """The fee per unit the node suggests now (wei per gas; satoshi per vbyte on UTXO)."""
