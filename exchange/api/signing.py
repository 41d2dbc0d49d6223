"""HMAC request signing for API keys (DESIGN 6.2).

    X-API-KEY:        the key
    X-API-TIMESTAMP:  milliseconds since the epoch
    X-API-SIGNATURE:  hex HMAC-SHA256(secret, timestamp + METHOD + path_with_query + body)

A request older (or newer) than the receive window is refused, and so is any signature seen
before inside the window: each one is remembered in Redis (SET NX with the window as TTL), so
the check holds across every web process.
"""
import hashlib
import hmac


def signature(secret: str, timestamp: str, method: str, path_with_query: str, body: bytes | str) -> str:
    """What a client sends as ``X-API-SIGNATURE``."""
    if isinstance(body, str):
        body = body.encode()
    message = f"{timestamp}{method.upper()}{path_with_query}".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
