"""Key custody: the hot-wallet key reaches the signer's process and no other, is never in
Django's settings or circus's configuration, and a key file others can read is refused."""
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

KEY = "0x" + "4c" * 32


def _launcher():
    import importlib.util

    spec = importlib.util.spec_from_file_location("launch", ROOT / "scripts" / "launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_launcher_gives_the_key_to_the_signer_alone(tmp_path):
    launch = _launcher()
    env = {"PATH": os.environ.get("PATH", ""), "EXCHANGE_GATEWAY": "none", "WEB_CONCURRENCY": "2",
           "ETH_RPC_URL": "http://127.0.0.1:8545", "EXCHANGE_HOT_WALLET_KEY": KEY}
    key_file = launch.hot_wallet_key_file(env, var=tmp_path)
    assert (tmp_path / "hot-wallet.key").read_text() == KEY
    assert os.stat(key_file).st_mode & 0o077 == 0
    config, _ = launch.circus_config({**{k: v for k, v in env.items() if k != "EXCHANGE_HOT_WALLET_KEY"},
                                      "EXCHANGE_HOT_WALLET_KEY_FILE": key_file})
    holders = [s for s in config.sections() if s.startswith("env:") and "EXCHANGE_HOT_WALLET_KEY_FILE" in config[s]]
    assert holders == ["env:signer"]
    assert config["env:signer"]["EXCHANGE_HOT_WALLET_KEY_FILE"] == key_file
    assert config["watcher:signer"]["cmd"].endswith("manage.py run_withdrawal_signer")
    text = "\n".join(f"{k}={v}" for s in config.sections() for k, v in config[s].items())
    assert KEY not in text
    assert KEY[2:] not in text
    assert "EXCHANGE_HOT_WALLET_KEY_FILE" in launch.KEY_VARS
    assert "EXCHANGE_HOT_WALLET_KEY" in launch.KEY_VARS


def test_no_setting_of_any_process_holds_the_key(settings):
    assert not [name for name in dir(settings) if "HOT_WALLET_KEY" in name or "PRIVATE_KEY" in name]


def test_the_signer_takes_the_key_out_of_its_environment(tmp_path):
    from exchange.withdrawals.custody import hot_wallet_key_load

    path = tmp_path / "k"
    path.write_text(KEY + "\n")
    path.chmod(0o600)
    env = {"EXCHANGE_HOT_WALLET_KEY_FILE": str(path), "OTHER": "1"}
    assert hot_wallet_key_load(env) == KEY
    assert env == {"OTHER": "1"}


@pytest.mark.parametrize("mode", [0o644, 0o640])
def test_a_key_file_others_can_read_is_refused(tmp_path, mode):
    path = tmp_path / "hot.key"
    path.write_text(KEY)
    path.chmod(mode)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_HOT_WALLET")}
    env.update({"EXCHANGE_HOT_WALLET_KEY_FILE": str(path), "DJANGO_DEBUG": "true"})
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run([sys.executable, "manage.py", "run_withdrawal_signer"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "chmod 600" in result.stderr
