"""Writes to the audit log. Call ``audit_record`` inside the transaction of the change."""
from django.contrib.auth.models import User
from django.db import transaction

from exchange.audit.models import AuditEntry, AuditSource, LoginRecord


@transaction.atomic
def audit_record(
    *,
    actor: User | None,
    ip: str | None,
    action: str,
    object_type: str,
    object_id: object = "",
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
    source: str = AuditSource.CONSOLE,
) -> AuditEntry:
    """Append one entry: ``action`` is a dotted name such as ``market.status_change``."""
    return AuditEntry.objects.create(
        actor_id=getattr(actor, "pk", None),
        actor_username=getattr(actor, "username", "") or "",
        ip=ip or None,
        source=source,
        action=action[:64],
        object_type=object_type[:64],
        object_id=str(object_id)[:64],
        before=before,
        after=after,
        reason=reason,
    )


def login_record(
    *, user: User | None, username: str, ip: str | None, user_agent: str, succeeded: bool
) -> LoginRecord:
    """Remember one login attempt."""
    return LoginRecord.objects.create(
        user=user, username=(username or "")[:150], ip=ip or None, user_agent=(user_agent or "")[:255], succeeded=succeeded
    )
