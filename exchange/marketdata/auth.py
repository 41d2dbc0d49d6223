"""API-key sign-in for the private WebSocket (the browser uses its session cookie instead).

The first message on ``/ws/user/`` is
``{"type": "auth", "key": KEY, "timestamp": MS, "signature": SIG}`` with
``SIG = hex HMAC-SHA256(secret, timestamp + "GET" + "/ws/user/")``: the REST signing rule
(DESIGN 6.2) for a ``GET /ws/user/`` with an empty body. The check is the REST API's own
(``exchange.api.keys.api_key_verify``): the same receive window, replay protection, caching and
codes, and the key needs the ``read`` scope.
"""
from exchange.accounts.models import ApiKeyScope
from exchange.api.keys import api_key_verify
from exchange.api.signing import signature

WS_USER_PATH = "/ws/user/"


def ws_signature(secret: str, timestamp: str) -> str:
    """What a client sends as ``signature`` in its ``auth`` message."""
    return signature(secret, timestamp, "GET", WS_USER_PATH, b"")


def ws_api_key_authenticate(*, key: object, timestamp: object, sent: object, client_ip: str | None = "") -> int:
    """The id of the user whose API key signed this ``auth`` message, or ``ExchangeError``."""
    api_key = api_key_verify(key=key, timestamp=timestamp, sent=sent, method="GET", path_with_query=WS_USER_PATH,
                             body=b"", client_ip=client_ip, required_scope=ApiKeyScope.READ)
    return api_key.user_id
