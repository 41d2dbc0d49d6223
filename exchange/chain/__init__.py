"""Blockchain connectivity: chain assets, node adapters, deposit addresses and the chain watcher.

Layering: this app sits beside ``marketdata`` and ``console``; it calls down into ``ledger`` (credits
and reversals) and ``trading`` (freezing an account), and nothing below imports it. The web tier
never imports web3: adapters are imported only by the chain processes and management commands.
"""
