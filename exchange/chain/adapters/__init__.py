"""Node adapters: one per kind of chain, behind ``ChainAdapter`` (base.py).

``adapter_for(network)`` imports the implementation lazily, so importing this package costs
nothing; only the chain processes and commands call it (the web tier never does).
"""
from exchange.chain.adapters.base import ChainAdapter, NodeUnavailable, Receipt, Transfer

__all__ = ["ChainAdapter", "NodeUnavailable", "Receipt", "Transfer", "adapter_for"]


def adapter_for(network: str, *, rpc_url: str | None = None) -> ChainAdapter:
    """The adapter of ``network`` on the node configured in settings (or ``rpc_url``)."""
    from django.conf import settings

    if network == "ethereum":
        from exchange.chain.adapters.ethereum import EthereumAdapter

        return EthereumAdapter(rpc_url or settings.ETH_RPC_URL, chain_id=settings.ETH_CHAIN_ID)
    raise ValueError(f"no chain adapter for network {network!r}")
