"""Where the hot-wallet key comes from, for the signer process only.

``EXCHANGE_HOT_WALLET_KEY_FILE`` (a path to a file readable by its owner only, mode 0600 or
stricter) or ``EXCHANGE_HOT_WALLET_KEY`` (the hex key itself). Never in the database, never in
Django's settings (which every process loads), and removed from this process's environment once
read so that nothing it starts inherits it.
"""
import os
import stat
from pathlib import Path

KEY_FILE_VAR = "EXCHANGE_HOT_WALLET_KEY_FILE"
KEY_VAR = "EXCHANGE_HOT_WALLET_KEY"


class CustodyError(Exception):
    """The key is missing or not safely stored."""


def hot_wallet_key_load(environ: dict | None = None) -> str:
    env = os.environ if environ is None else environ
    path = env.pop(KEY_FILE_VAR, None)
    literal = env.pop(KEY_VAR, None)
    if path:
        file = Path(path)
        try:
            mode = file.stat().st_mode
        except OSError as exc:
            raise CustodyError(f"{KEY_FILE_VAR}={path}: {exc.strerror}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CustodyError(f"{KEY_FILE_VAR}={path} is readable by others (mode {stat.S_IMODE(mode):o}): "
                               "chmod 600 it")
        return file.read_text().strip()
    if literal:
        return literal.strip()
    raise CustodyError(f"no hot-wallet key: set {KEY_FILE_VAR} (a 0600 file) or {KEY_VAR}")
