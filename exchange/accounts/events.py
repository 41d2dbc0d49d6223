"""Recording security events: logins and failures (from Django's auth signals), two-factor
changes, API keys created, revoked and used from a new address."""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from exchange.accounts.models import SecurityEvent
from exchange.infra.net import client_ip


def security_event_record(*, user: User, kind: str, request=None, **detail) -> SecurityEvent:
    """Record the event for its owner to see, and in the venue's append-only audit log."""
    from exchange.audit.models import AuditSource
    from exchange.audit.services import audit_record

    ip = client_ip(request) if request is not None else None
    agent = request.META.get("HTTP_USER_AGENT", "")[:255] if request is not None else ""
    event = SecurityEvent.objects.create(user=user, kind=kind, ip=ip or None, user_agent=agent, detail=detail)
    audit_record(actor=user, ip=ip, action=f"security.{kind}", object_type="user", object_id=user.pk,
                 after={"user_agent": agent, **detail}, source=AuditSource.SYSTEM)
    return event


@receiver(user_logged_in, dispatch_uid="security_login")
def _logged_in(sender, request, user, **kwargs) -> None:
    security_event_record(user=user, kind=SecurityEvent.Kind.LOGIN, request=request)


@receiver(user_logged_out, dispatch_uid="security_logout")
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        security_event_record(user=user, kind=SecurityEvent.Kind.LOGOUT, request=request)


@receiver(user_login_failed, dispatch_uid="security_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    user = get_user_model().objects.filter(username=credentials.get("username", "")).first()
    if user is not None:
        security_event_record(user=user, kind=SecurityEvent.Kind.LOGIN_FAILED, request=request)
