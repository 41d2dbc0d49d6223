"""The one check of an API-key signature, for every door: REST requests and the private
WebSocket's ``auth`` message (DESIGN 6.2).

Both doors used to carry their own copy of this check, and the copies drifted: REST compared
the signature case-insensitively but remembered it for replay protection as sent, so the same
signature resent in upper or mixed case was accepted again (four orders from one signature).
Here a signature is reduced to its canonical form (64 lower-case hex digits) before anything
else, and only that form is compared and remembered.

Bookkeeping stays off the hot path: the key, its scopes and its owner's status are cached in
the process for ``EXCHANGE_API_KEY_CACHE_SECONDS`` (1 s by default, so a key revoked or a user
frozen in the console stops working within a second in every web process), and ``last_used_at``
is written at most once a minute per key.

The replay guard is a Redis round trip of its own (``ReplayGuard.check``), except where a caller
has Redis work of its own to do for the same request: signed order entry defers it
(``defer_replay``) and sends it in one pipeline with its rate-limit counts
(``exchange.api.signed_entry``).
"""
import copy
import hmac
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

import redis
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from exchange.accounts.crypto import decrypt_secret
from exchange.accounts.models import ApiKey, Profile, UserStatus
from exchange.api.signing import signature as expected_signature
from exchange.errors import ExchangeError
from exchange.infra.prepared import prepared_cursor
from exchange.infra.redis_clients import redis_client
from exchange.infra.rows import ModelColumns

log = logging.getLogger(__name__)

# Keys are 32 hex digits today; anything longer or outside printable ASCII is not a key.
_KEY = re.compile(r"[\x21-\x7e]{1,64}")
# Milliseconds since the epoch: 13 digits until the year 2286. 15 leaves room and keeps int() cheap.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
LAST_USED_EVERY = timedelta(seconds=60)
_CACHE_MAX_ENTRIES = 10_000


def refuse(code: str, message: str, status: int = 401) -> ExchangeError:
    return ExchangeError(code, message, status=status)


@dataclass(frozen=True, slots=True)
class _Entry:
    """What the check needs to know about a key, loaded together and cached together."""

    api_key: ApiKey  # with ``user`` loaded; handed out as copies, never shared
    frozen: bool
    expires: float
    # The secret, decrypted once per load rather than once per request (Fernet's HMAC and AES
    # were a fifth of the check's CPU); None when it cannot be decrypted with the current
    # EXCHANGE_API_SECRET_KEY. It lives no longer than the entry.
    secret: str | None


_cache: dict[str, _Entry] = {}
_cache_lock = threading.Lock()
# One lock per key: when a key's entry expires, one thread reloads it and the others wait for
# that, instead of every request in flight (a process admits dozens of orders at once) each
# taking a database connection for the same two queries at the same moment.
_key_locks: dict[str, threading.Lock] = {}


def api_key_cache_clear() -> None:
    """Forget every cached key (tests; a process that must see a change at once)."""
    with _cache_lock:
        _cache.clear()


def _key_lock(key: str) -> threading.Lock:
    with _cache_lock:
        if len(_key_locks) >= _CACHE_MAX_ENTRIES:
            _key_locks.clear()  # a thread holding a forgotten lock finishes; at worst a key loads twice
        return _key_locks.setdefault(key, threading.Lock())


def _cached(key: str) -> _Entry | None:
    with _cache_lock:
        entry = _cache.get(key)
    return entry if entry is not None and entry.expires > time.monotonic() else None


def _load(key: str) -> _Entry | None:
    entry = _cached(key)
    if entry is not None:
        return entry
    with _key_lock(key):
        entry = _cached(key)  # loaded by the thread this one waited for
        if entry is not None:
            return entry
        found = _select_key(key)
        if found is None:
            return None  # unknown keys are not cached: a key created a moment ago works at once
        api_key, frozen = found
        try:
            secret: str | None = decrypt_secret(api_key.secret_encrypted)
        except InvalidToken:
            secret = None
        entry = _Entry(api_key=api_key, frozen=frozen, secret=secret,
                       expires=time.monotonic() + settings.EXCHANGE_API_KEY_CACHE_SECONDS)
        with _cache_lock:
            if len(_cache) >= _CACHE_MAX_ENTRIES:
                _cache.clear()
            _cache[key] = entry
        return entry


@cache
def _key_query() -> tuple[str, ModelColumns[ApiKey], ModelColumns[Any]]:
    key_columns = ModelColumns(ApiKey, "k")
    user_columns = ModelColumns(ApiKey._meta.get_field("user").related_model, "u")
    profiles = Profile._meta.db_table
    return (f"SELECT {key_columns.sql}, {user_columns.sql}, EXISTS (SELECT 1 FROM {profiles} p "
            f"WHERE p.user_id = k.user_id AND p.status = %s) "
            f"FROM {key_columns.table} JOIN {user_columns.table} ON u.id = k.user_id WHERE k.key = %s",
            key_columns, user_columns)


def _select_key(key: str) -> tuple[ApiKey, bool] | None:
    """The key with its ``user``, and whether the owner is frozen: one query (it runs once a
    second per key and process; for a bot sending less often than that, on every request), by
    hand on a prepared cursor (``infra/rows.py``: through the ORM it cost more than the rest of
    the check)."""
    sql, key_columns, user_columns = _key_query()
    with prepared_cursor() as cursor:
        cursor.execute(sql, [UserStatus.FROZEN.value, key])
        row = cursor.fetchone()
    if row is None:
        return None
    api_key = key_columns.instance(row[:len(key_columns)])
    api_key.user = user_columns.instance(row[len(key_columns):-1])
    return api_key, row[-1]


def canonical_signature(sent: object) -> str:
    """The signature as 64 lower-case hex digits, or ``invalid_signature``."""
    if not isinstance(sent, str) or not _SIGNATURE.fullmatch(sent):
        raise refuse("invalid_signature", "the signature must be 64 hexadecimal digits")
    return sent.lower()


def api_key_verify(
    *,
    key: object,
    timestamp: object,
    sent: object,
    method: str,
    path_with_query: str,
    body: bytes,
    client_ip: str | None,
    required_scope: str | None = None,
    received_at: float | None = None,
    defer_replay: bool = False,
) -> ApiKey:
    """The API key that signed this request (a copy, with its ``user``), or ``ExchangeError``.

    Codes, in the order they are checked: ``signature_missing``, ``invalid_api_key`` (malformed),
    ``invalid_timestamp``, ``invalid_signature`` (malformed), ``invalid_api_key`` (unknown),
    ``api_key_revoked``, ``stale_timestamp``, ``invalid_signature`` (401); ``missing_scope``,
    ``ip_not_allowed``, ``account_frozen`` (403); last the replay guard: ``replayed_request`` (401)
    or ``unavailable`` (503, when Redis cannot rule out a replay).

    ``received_at`` (epoch seconds) is when the request reached us; the receive window is measured
    from then, so a request delayed inside the venue is judged by when it arrived.

    ``defer_replay``: everything but the replay guard is checked; the caller must run
    ``ReplayGuard.of(key, sent)`` itself before it acts on the request (to share the round trip).
    """
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)  # the WebSocket message may carry a JSON number
    if not key or not timestamp or not sent:
        raise refuse("signature_missing", "the key, a timestamp and a signature are required")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise refuse("invalid_api_key", "unknown API key")
    if not isinstance(timestamp, str) or not _TIMESTAMP.fullmatch(timestamp):
        raise refuse("invalid_timestamp", "the timestamp must be milliseconds since the epoch")
    signature = canonical_signature(sent)
    entry = _load(key)
    if entry is None:
        raise refuse("invalid_api_key", "unknown API key")
    api_key = entry.api_key
    if api_key.revoked_at is not None:
        raise refuse("api_key_revoked", "this API key was revoked")
    window_ms = settings.EXCHANGE_API_RECV_WINDOW_MS
    arrived_ms = (time.time() if received_at is None else received_at) * 1000
    if abs(arrived_ms - int(timestamp)) > window_ms:
        raise refuse("stale_timestamp", f"the request is outside the {window_ms} ms receive window")
    secret = entry.secret
    if secret is None:
        # Encrypted under another EXCHANGE_API_SECRET_KEY (a key rotated or restored wrongly): the
        # key cannot be checked, so it is refused like an unknown one, and the operator is told.
        log.error("API key %s… cannot be decrypted with the current EXCHANGE_API_SECRET_KEY", api_key.key[:8])
        raise refuse("invalid_api_key", "unknown API key")
    expected = expected_signature(secret, timestamp, method, path_with_query, body)
    if not hmac.compare_digest(expected, signature):
        raise refuse("invalid_signature", "the signature does not match the request")
    if required_scope is not None and required_scope not in api_key.scopes:
        raise refuse("missing_scope", f"this API key lacks the {required_scope} scope", 403)
    if api_key.allowed_ips and client_ip not in api_key.allowed_ips:
        raise refuse("ip_not_allowed", "this API key may not be used from this address", 403)
    if not api_key.user.is_active or entry.frozen:
        raise refuse("account_frozen", "this account is frozen", 403)
    if not defer_replay:
        ReplayGuard.of(key, signature).check()
    _note_use(entry)
    verified = copy.copy(api_key)
    verified.user = copy.copy(api_key.user)
    return verified


@dataclass(frozen=True, slots=True)
class ReplayGuard:
    """Each canonical signature is accepted once: remembered in Redis (SET NX) for twice the
    receive window, so the check holds across every web process. ``check`` is a round trip of its
    own; a caller with more Redis work for the request ``queue``s it on its pipeline and ``judge``s
    the reply instead."""

    name: str
    ttl_ms: int

    @classmethod
    def of(cls, key: str, sent: object) -> "ReplayGuard":
        """The guard of a signature ``api_key_verify`` accepted (``sent`` as received)."""
        return cls(f"apisig:{key}:{canonical_signature(sent)}", 2 * settings.EXCHANGE_API_RECV_WINDOW_MS)

    def queue(self, pipe: Any) -> Any:
        """Sends the SET NX on ``pipe`` (a pipeline, or the client itself: then its reply)."""
        return pipe.set(self.name, 1, nx=True, px=self.ttl_ms)

    def judge(self, fresh: object) -> None:
        """``replayed_request`` unless the SET NX's reply says this signature is new."""
        if not fresh:
            raise refuse("replayed_request", "this signature was already used")

    def check(self) -> None:
        """The guard in a round trip of its own."""
        try:
            fresh = self.queue(redis_client())
        except redis.RedisError:
            raise replay_unverifiable() from None
        self.judge(fresh)


def replay_unverifiable() -> ExchangeError:
    """Without Redis a replay cannot be ruled out: refuse rather than risk a double order."""
    return refuse("unavailable", "cannot verify the request right now", 503)


def _note_use(entry: _Entry) -> None:
    """``last_used_at``, at most once a minute per key: a write per request only to say "used
    just now" cost more than the request. The conditional UPDATE keeps two processes from
    writing it twice in the same minute; it runs in autocommit, outside any order transaction."""
    now = timezone.now()
    last = entry.api_key.last_used_at
    if last is not None and now - last < LAST_USED_EVERY:
        return
    lock = _key_lock(entry.api_key.key)
    if not lock.acquire(blocking=False):
        return  # another thread of this process is writing it (or loading the key) right now
    try:
        ApiKey.objects.filter(pk=entry.api_key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)).update(last_used_at=now)
        entry.api_key.last_used_at = now  # this process need not try again for a minute
    finally:
        lock.release()
