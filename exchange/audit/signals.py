"""Hooks that feed the audit log from outside the console: Django admin changes and logins.

Django admin writes a ``LogEntry`` for every add, change and delete, inside the transaction of
the change; each one is copied into the audit log there. The admin records only a change
message, not the field values before and after: for those, use the console.
"""
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save

from exchange.audit.context import client_ip, current_ip

_ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


def _on_admin_log_entry(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    from exchange.audit.services import audit_record

    if not created:
        return
    content_type = instance.content_type
    audit_record(
        actor=instance.user,
        ip=current_ip(),
        action=_ADMIN_ACTIONS.get(instance.action_flag, "admin.other"),
        object_type=f"{content_type.app_label}.{content_type.model}" if content_type else "",
        object_id=instance.object_id or "",
        after={"object": instance.object_repr, "change": instance.get_change_message()},
        source="admin",
    )


def _on_login(sender, request, user, **kwargs) -> None:
    from exchange.audit.services import login_record

    login_record(user=user, username=user.get_username(), ip=client_ip(request) if request else None,
                 user_agent=request.headers.get("user-agent", "") if request else "", succeeded=True)


def _on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    from django.contrib.auth import get_user_model

    from exchange.audit.services import login_record

    username = str(credentials.get("username", ""))
    user = get_user_model().objects.filter(username=username).first()
    login_record(user=user, username=username, ip=client_ip(request) if request else None,
                 user_agent=request.headers.get("user-agent", "") if request else "", succeeded=False)


def connect() -> None:
    post_save.connect(_on_admin_log_entry, sender=LogEntry, dispatch_uid="audit_admin_log_entry")
    user_logged_in.connect(_on_login, dispatch_uid="audit_login")
    user_login_failed.connect(_on_login_failed, dispatch_uid="audit_login_failed")
