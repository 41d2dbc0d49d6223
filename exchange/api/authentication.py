"""API-key authentication for the REST API: signed, fresh, never replayed, scoped, IP-bound.

The check itself is ``exchange.api.keys.api_key_verify``, shared with the private WebSocket."""
import redis
from rest_framework import authentication, exceptions

from exchange.accounts.models import ApiKey
from exchange.api.keys import ReplayGuard, api_key_verify
from exchange.errors import ExchangeError
from exchange.infra.net import client_ip as net_client_ip
from exchange.infra.redis_clients import redis_client
from exchange.infra.shedding import request_received_at

# (key id, address) pairs this process has already reported to Redis; bounded, and emptied when full
# (forgetting only costs a round trip: Redis still records each pair's first use once).
_asked: set[tuple[int, str]] = set()
ASKED_MAX = 100_000


class ApiKeyError(exceptions.AuthenticationFailed):
    """An authentication failure with a precise code for the client."""

    def __init__(self, code: str, message: str, status_code: int = 401) -> None:
        super().__init__(message)
        self.code = code
        self.status_code = status_code

    @classmethod
    def of(cls, exc: ExchangeError) -> "ApiKeyError":
        return cls(exc.code, exc.message, exc.status)


def client_ip(request) -> str:
    return net_client_ip(request) or ""  # the one reading, behind TRUSTED_PROXIES too


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates requests that carry ``X-API-KEY``; others fall through to the session."""

    def authenticate(self, request):
        key = request.META.get("HTTP_X_API_KEY")
        if not key:
            return None
        sent = request.META.get("HTTP_X_API_SIGNATURE", "")
        # A view may take the replay guard over for some methods (``replay_deferred_for``): the
        # request then carries it, unchecked, as ``replay_guard`` (only
        # ``exchange.api.signed_entry``, which runs it with its rate limits). Asked of the view,
        # not by a subclass here: the API's schema knows one API-key scheme, this class.
        view = (getattr(request, "parser_context", None) or {}).get("view")
        defer_replay = request.method in getattr(view, "replay_deferred_for", ())
        try:
            api_key = api_key_verify(
                key=key, timestamp=request.META.get("HTTP_X_API_TIMESTAMP", ""), sent=sent,
                method=request.method, path_with_query=request.get_full_path(), body=request.body,
                client_ip=client_ip(request), received_at=request_received_at(request.META),
                defer_replay=defer_replay)
        except ExchangeError as exc:
            raise ApiKeyError.of(exc) from None
        if defer_replay:
            request.replay_guard = ReplayGuard.of(key, sent)
        self._note_new_ip(api_key, request)
        request.api_key = api_key
        return api_key.user, api_key

    @staticmethod
    def _note_new_ip(api_key: ApiKey, request) -> None:
        """A security event the first time a key is used from an address (remembered in Redis,
        which decides across processes; each process asks once per key and address, not on every
        request: a bot's every order paid a Redis round trip for it)."""
        ip = client_ip(request)
        if (api_key.pk, ip) in _asked:
            return
        try:
            new = redis_client().sadd(f"apikey-ips:{api_key.pk}", ip) == 1
        except redis.RedisError:
            return
        if len(_asked) >= ASKED_MAX:
            _asked.clear()
        _asked.add((api_key.pk, ip))
        if new:
            from exchange.accounts.events import security_event_record

            security_event_record(user=api_key.user, kind="api_key_new_ip", request=request, key=api_key.key[:8])

    def authenticate_header(self, request) -> str:
        return 'ApiKey realm="api"'
