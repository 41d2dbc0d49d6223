"""A local Ethereum dev chain: start anvil (npm ``@foundry-rs/anvil``), deploy and mint the dev
token, and the RPC calls tests use to make reorganisations (snapshot, revert, mine).

Used by ``make run`` (scripts/with_services.py), ``setup_dev_chain`` and the tests; never by the
web tier. Anvil's accounts are unlocked, so deploying and funding need no private key here.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from functools import cache
from pathlib import Path

from web3 import Web3

ROOT = Path(__file__).resolve().parent.parent.parent
DEV_TOKEN_ARTIFACT = Path(__file__).parent / "contracts" / "DevToken.json"
DEV_CHAIN_ID = 31337


def anvil_binary() -> str:
    """The native anvil that ``npm ci`` installed, else one on the PATH."""
    for candidate in sorted((ROOT / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    wrapper = ROOT / "node_modules" / ".bin" / "anvil"
    found = shutil.which("anvil") or (str(wrapper) if wrapper.exists() else None)
    if not found:
        raise FileNotFoundError("anvil is not installed: run `npm ci` (package.json has @foundry-rs/anvil)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AnvilNode:
    """One anvil process on a loopback port; ``state_path`` keeps the chain across restarts."""

    def __init__(self, *, port: int | None = None, chain_id: int = DEV_CHAIN_ID, state_path: Path | None = None,
                 log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.chain_id = chain_id
        self.url = f"http://127.0.0.1:{self.port}"
        args = [anvil_binary(), "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(chain_id),
                "--silent"]
        if state_path is not None:
            args += ["--state", str(state_path)]
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        w3 = web3_for(self.url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"anvil exited with {self.process.returncode}")
            try:
                w3.eth.block_number  # noqa: B018 - the probe
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError(f"anvil did not answer on {self.url}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not subprocess.DEVNULL:
            self._log.close()


def web3_for(url: str) -> Web3:
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))


@cache
def dev_token_artifact() -> dict:
    return json.loads(DEV_TOKEN_ARTIFACT.read_text())


def dev_token(w3: Web3, address: str):
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=dev_token_artifact()["abi"])


def has_code(w3: Web3, address: str) -> bool:
    return bool(address) and len(w3.eth.get_code(Web3.to_checksum_address(address))) > 0


def deploy_dev_token(w3: Web3, *, name: str = "Tether USD (dev)", symbol: str = "USDT", decimals: int = 6,
                     deployer: str | None = None) -> str:
    """Deploy the dev ERC-20 from an unlocked dev account (the first, by default); its address."""
    artifact = dev_token_artifact()
    sender = deployer or w3.eth.accounts[0]
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor(name, symbol, decimals).transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=60)
    if receipt["status"] != 1:
        raise RuntimeError("dev token deployment failed")
    return Web3.to_checksum_address(receipt["contractAddress"])


def mint(w3: Web3, token: str, to: str, amount: int, *, minter: str | None = None) -> str:
    """Mint ``amount`` base units of the dev token to ``to``; the transaction hash."""
    tx = dev_token(w3, token).functions.mint(Web3.to_checksum_address(to), amount).transact(
        {"from": minter or w3.eth.accounts[0]})
    return tx.to_0x_hex()


def send_eth(w3: Web3, to: str, amount_wei: int, *, sender: str | None = None) -> str:
    tx = w3.eth.send_transaction({"from": sender or w3.eth.accounts[1], "to": Web3.to_checksum_address(to),
                                  "value": amount_wei})
    return tx.to_0x_hex()


def send_token(w3: Web3, token: str, to: str, amount: int, *, sender: str | None = None) -> str:
    tx = dev_token(w3, token).functions.transfer(Web3.to_checksum_address(to), amount).transact(
        {"from": sender or w3.eth.accounts[1]})
    return tx.to_0x_hex()


def snapshot(w3: Web3) -> str:
    return w3.provider.make_request("evm_snapshot", [])["result"]


def revert(w3: Web3, snapshot_id: str) -> bool:
    return bool(w3.provider.make_request("evm_revert", [snapshot_id])["result"])


def mine(w3: Web3, blocks: int = 1) -> None:
    w3.provider.make_request("anvil_mine", [hex(blocks)])
