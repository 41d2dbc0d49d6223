"""The index of each user's own sessions (``UserSession``): written at login, removed at logout
and when a session is ended, so listing or ending a user's sessions reads only their rows.

Django's session table has no user column; finding a user's sessions there means decoding every
session of every user, a cost anyone can grow by opening sessions.
"""
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.sessions.models import Session
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from exchange.accounts.models import SecurityEvent, UserSession
from exchange.errors import ExchangeError
from exchange.infra.net import client_ip

SESSION_LIST_LIMIT = 50


def session_record(*, user: User, request) -> UserSession | None:
    """Index the request's session as one of ``user``'s (idempotent; the key changes at login and
    at a password change, so the current key is recorded whenever it is not yet known)."""
    session = getattr(request, "session", None)
    key = session.session_key if session is not None else None
    if not key:
        return None
    agent = request.META.get("HTTP_USER_AGENT", "")[:255]
    row, _ = UserSession.objects.update_or_create(
        session_key=key, defaults={"user": user, "ip": client_ip(request) or None, "user_agent": agent})
    return row


def session_list(*, user: User) -> list[dict]:
    """The user's unexpired sessions, newest first: two queries bounded by their own sessions."""
    rows = list(UserSession.objects.filter(user=user).order_by("-created_at")[:SESSION_LIST_LIMIT])
    expires = dict(Session.objects.filter(session_key__in=[r.session_key for r in rows],
                                          expire_date__gt=timezone.now()).values_list("session_key", "expire_date"))
    gone = [r.pk for r in rows if r.session_key not in expires]
    if gone:
        UserSession.objects.filter(pk__in=gone).delete()
    return [{"id": r.pk, "key": r.session_key, "ip": r.ip or "", "user_agent": r.user_agent,
             "created": r.created_at, "expires": expires[r.session_key]} for r in rows if r.session_key in expires]


@transaction.atomic
def session_end(*, user: User, session_id: object, request=None) -> str:
    """End one of the user's own sessions (anyone else's is as unknown as a missing one);
    returns its key."""
    from exchange.accounts.events import security_event_record

    try:
        pk = int(str(session_id))
    except ValueError:
        raise ExchangeError("unknown_session", "no such session", status=404) from None
    row = UserSession.objects.select_for_update().filter(user=user, pk=pk).first()
    if row is None:
        raise ExchangeError("unknown_session", "no such session", status=404)
    Session.objects.filter(session_key=row.session_key).delete()
    row.delete()
    security_event_record(user=user, kind=SecurityEvent.Kind.SESSION_ENDED, request=request,
                          session_ip=row.ip or "", session_agent=row.user_agent[:80])
    return row.session_key


@transaction.atomic
def session_end_others(*, user: User, keep: str | None) -> int:
    """Sign the user out everywhere but the session ``keep``; returns how many ended."""
    keys = list(UserSession.objects.filter(user=user).exclude(session_key=keep or "")
                .values_list("session_key", flat=True))
    ended, _ = Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).delete()
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=user, session_key__in=keys).delete()
    return ended


@receiver(user_logged_in, dispatch_uid="accounts_session_index_login")
def _logged_in(sender, request, user, **kwargs) -> None:
    if request is not None:
        session_record(user=user, request=request)


@receiver(user_logged_out, dispatch_uid="accounts_session_index_logout")
def _logged_out(sender, request, user, **kwargs) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(session_key=key).delete()
