"""Withdrawals: the request (API and web), the per-user address allow-list, the signer that
alone holds the hot-wallet key, and the reserve check.

Layering: above ``ledger`` (holds and postings) and ``chain`` (assets on a network, node
adapters); the console calls down into it. The web tier imports ``services`` and ``selectors``
only; ``signer``, ``evm`` and ``reserves`` talk to nodes and run in their own processes.
"""
