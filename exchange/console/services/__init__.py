"""The console's writes: one function per use case, each in one transaction with its audit entry.

One module per area, imported by name (``from exchange.console.services import funds``):
``markets`` (assets, markets, their rules and status), ``users`` (freeze, KYC, API keys),
``funds`` (deposits, adjustments, withdrawals: who moves money), ``approvals`` (the second
admin's decision), ``fees`` (volume tiers), and ``guards``, the checks they all share.

Every function takes the acting admin (``actor``) and their address (``ip``), checks the role
(the views check it too), requires a reason, does the change through the owning app's service,
and appends the audit entry in the same transaction, so there is never a change without its
entry nor an entry for a change that rolled back.
"""
