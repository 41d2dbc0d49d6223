"""The one JSON shape of a deposit: ``GET /api/v1/deposits`` and the private WebSocket's frames."""
from exchange.api.fields import decimal_str
from exchange.chain.models import Deposit


def deposit_message(deposit: Deposit) -> dict:
    return {
        "id": deposit.pk,
        "asset": deposit.chain_asset.asset.symbol,
        "network": deposit.network,
        "amount": decimal_str(deposit.amount),
        "txid": deposit.txid,
        "confirmations": deposit.confirmations,
        "required_confirmations": deposit.chain_asset.confirmations,
        "status": deposit.status,
        "created_at": deposit.created_at.isoformat().replace("+00:00", "Z"),
    }
