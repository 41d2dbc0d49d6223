"""The real withdrawal signer as a subprocess, a funded hot wallet on the test's anvil, and the
polling helpers the signer tests share."""
import os
import time
from pathlib import Path

from tests.conftest import ManageProcess


class SignerProcess(ManageProcess):
    """``manage.py run_withdrawal_signer`` against the test database and the module's anvil,
    with the hot-wallet key in a 0600 file named in ITS environment only."""

    def __init__(self, *, rpc_url: str, chain_id: int, key_file: Path, log_path: Path, **overrides: str) -> None:
        env = {"ETH_RPC_URL": rpc_url, "ETH_CHAIN_ID": str(chain_id), "DJANGO_DEBUG": "true",
               "EXCHANGE_HOT_WALLET_KEY_FILE": str(key_file), "EXCHANGE_SIGNER_POLL_SECONDS": "0.1",
               "EXCHANGE_RESERVES_CHECK_SECONDS": "0", "EXCHANGE_SIGNER_BUMP_AFTER_SECONDS": "3600",
               "EXCHANGE_DEV_FUND_HOT_WALLET": "false", **overrides}
        super().__init__(["run_withdrawal_signer"], redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                         log_path=log_path, **env)


def new_hot_wallet(tmp_path: Path):
    """A fresh key in a 0600 file; returns (account, path)."""
    from eth_account import Account

    account = Account.create()
    path = tmp_path / f"hot-{account.address[:10]}.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(account.key.hex())
    return account, path


def fund(w3, address: str, *, eth_wei: int = 0, token: str | None = None, token_units: int = 0) -> None:
    from exchange.chain.devchain import mint, send_eth

    if eth_wei:
        w3.eth.wait_for_transaction_receipt(send_eth(w3, address, eth_wei, sender=w3.eth.accounts[2]))
    if token and token_units:
        w3.eth.wait_for_transaction_receipt(mint(w3, token, address, token_units))


def mine_until(w3, predicate, *, timeout: float = 120, message: str = "condition", process=None):
    """Mine one block per poll (the confirmations the signer waits for) until ``predicate()``."""
    from exchange.chain.devchain import mine

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        if process is not None and process.process.poll() is not None:
            raise AssertionError(f"the signer exited: {process.output()[-3000:]}")
        mine(w3, 1)
        time.sleep(0.1)
    tail = process.output()[-3000:] if process is not None else ""
    raise AssertionError(f"timed out waiting for {message}\n{tail}")


def token_balance(w3, token: str, address: str) -> int:
    from exchange.chain.devchain import dev_token

    return dev_token(w3, token).functions.balanceOf(address).call()
